"""Every model, imported once so that Alembic and the metadata see the whole schema."""

from app.automation.models import AutomationSettings, InvoiceRule, OverdueFollowup, RuleFiring
from app.connections.models import ConnectNonce, PendingConnection, ProviderConnection
from app.crm.pipedrive.models import (
    PipedriveInstallation,
    PipedriveOAuthState,
    PipedriveWebhook,
)
from app.extension.models import InvoicingLink
from app.invoices.models import ContactLink, ContactMirror, DealInvoice, DealInvoiceLink, ItemLink
from app.preferences.models import InvoicingPreference
from app.tenants.models import AuditEvent, Company, CrmUser, RolePermissions, SpentHandoff
from app.webhooks.models import WebhookEvent
from app.worker.models import Job

__all__ = [
    "AuditEvent",
    "AutomationSettings",
    "Company",
    "ConnectNonce",
    "ContactLink",
    "ContactMirror",
    "CrmUser",
    "DealInvoice",
    "DealInvoiceLink",
    "InvoiceRule",
    "InvoicingLink",
    "InvoicingPreference",
    "ItemLink",
    "Job",
    "OverdueFollowup",
    "PendingConnection",
    "PipedriveInstallation",
    "PipedriveOAuthState",
    "PipedriveWebhook",
    "ProviderConnection",
    "RolePermissions",
    "RuleFiring",
    "SpentHandoff",
    "WebhookEvent",
]
