"""Use cases of the connections domain (connect, choose, list, disconnect, purge hook)."""

from app.connections.service.common import (
    ALLOWED_XERO_ROLES,
    PICK_PURPOSE,
    STATE_PURPOSE,
    STATE_TTL_SECONDS,
    parse_provider,
    provider_label,
)
from app.connections.service.connect import (
    ChooseOrganisation,
    Connected,
    ConnectService,
)
from app.connections.service.manage import (
    connection_out,
    connections_purge_hook,
    disconnect,
    list_connections,
    revoke_company_connections,
)

__all__ = [
    "ALLOWED_XERO_ROLES",
    "PICK_PURPOSE",
    "STATE_PURPOSE",
    "STATE_TTL_SECONDS",
    "ChooseOrganisation",
    "ConnectService",
    "Connected",
    "connection_out",
    "connections_purge_hook",
    "disconnect",
    "list_connections",
    "parse_provider",
    "provider_label",
    "revoke_company_connections",
]
