"""Every model, imported once so that Alembic and the metadata see the whole schema."""

from app.connections.models import ConnectNonce, PendingConnection, ProviderConnection
from app.crm.pipedrive.models import PipedriveInstallation
from app.tenants.models import Company, CrmUser

__all__ = [
    "Company",
    "ConnectNonce",
    "CrmUser",
    "PendingConnection",
    "PipedriveInstallation",
    "ProviderConnection",
]
