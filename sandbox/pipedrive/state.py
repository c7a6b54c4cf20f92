"""The Pipedrive stand-in's state: its runtime object, its grants and its documents.

Documents live in the sandbox store under ``pipedrive:<kind>`` keyed ``{company_id}:{id}``
(ids repeat across companies: both demo companies have products 1-6), scoped by company.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request

from sandbox.oauth import Grants
from sandbox.pipedrive.limits import RateLimits

if TYPE_CHECKING:
    from sandbox.app import Sandbox

PREFIX = "/pipedrive"


def rfc3339(moment: datetime) -> str:
    """API v2 timestamps: RFC 3339 in UTC with a Z, whole seconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class PipedriveGrants(Grants):
    """Grants whose tokens look like Pipedrive's (``v1u:`` access tokens, long)."""

    def issue_access(
        self,
        grant_id: str,
        ttl: int,
        extra: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> str:
        # Real access tokens are long and grow over time (store them as varchar(768)+).
        return super().issue_access(
            grant_id, ttl, extra, token=token or "v1u:AQIB" + secrets.token_urlsafe(150)
        )

    def issue_refresh(self, grant_id: str, ttl: int) -> str:
        grant = self.grant(grant_id) or {}
        token = f"{grant.get('company_id', 0)}:{grant.get('user_id', 0)}:{secrets.token_hex(20)}"
        self.store.put(
            f"{self.p}:refresh",
            token,
            {"grant_id": grant_id, "expires_at": self.clock.timestamp() + ttl, "revoked": False},
            scope=grant_id,
        )
        return token

    def revoke_access(self, token: str) -> bool:
        data = self.store.get(f"{self.p}:access", token)
        if data is None:
            return False
        data["revoked"] = True
        self.store.put(f"{self.p}:access", token, data, scope=data["grant_id"])
        return True

    def live_refresh(self, token: str) -> dict[str, Any] | None:
        data = self.refresh_record(token)
        if data is None or data.get("revoked") or data["expires_at"] < self.clock.timestamp():
            return None
        grant = self.grant(data["grant_id"])
        if grant is None or grant.get("revoked"):
            return None
        return data

    def installs(self) -> list[dict[str, Any]]:
        return self.store.all(f"{self.p}:grant")

    def uninstall(self, company_id: int, user_id: int) -> int:
        """Revoke every live grant of one (company, user) install; returns how many."""
        count = 0
        for grant in self.installs():
            same = int(grant["company_id"]) == company_id and int(grant["user_id"]) == user_id
            if same and not grant.get("revoked"):
                self.revoke_grant(grant["id"])
                count += 1
        return count


class Data:
    """Typed-enough access to the stand-in's documents."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.store = sandbox.store

    @staticmethod
    def _key(company_id: int, item_id: int | str) -> str:
        return f"{company_id}:{item_id}"

    # companies and users
    def companies(self) -> list[dict[str, Any]]:
        return self.store.all("pipedrive:company")

    def company(self, company_id: int) -> dict[str, Any] | None:
        return self.store.get("pipedrive:company", str(company_id))

    def company_by_domain(self, domain: str) -> dict[str, Any] | None:
        return next((c for c in self.companies() if c["domain"] == domain), None)

    def put_company(self, company: dict[str, Any]) -> None:
        self.store.put("pipedrive:company", str(company["id"]), company)

    def users(self, company_id: int | None = None) -> list[dict[str, Any]]:
        scope = None if company_id is None else str(company_id)
        return self.store.all("pipedrive:user", scope)

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self.store.get("pipedrive:user", str(user_id))

    def put_user(self, user: dict[str, Any]) -> None:
        self.store.put("pipedrive:user", str(user["id"]), user, scope=str(user["company_id"]))

    # company-scoped entities: deal, product, organization, person, deal_discount, deal_product
    def get(self, kind: str, company_id: int, item_id: int | str) -> dict[str, Any] | None:
        return self.store.get(f"pipedrive:{kind}", self._key(company_id, item_id))

    def items(self, kind: str, company_id: int) -> list[dict[str, Any]]:
        return self.store.all(f"pipedrive:{kind}", str(company_id))

    def put(self, kind: str, company_id: int, item: dict[str, Any]) -> None:
        self.store.put(
            f"pipedrive:{kind}", self._key(company_id, item["id"]), item, scope=str(company_id)
        )

    def delete(self, kind: str, company_id: int, item_id: int | str) -> None:
        self.store.delete(f"pipedrive:{kind}", self._key(company_id, item_id))

    def deal_lines(self, company_id: int, deal_id: int) -> list[dict[str, Any]]:
        lines = self.store.all("pipedrive:deal_product", f"{company_id}:{deal_id}")
        return sorted(lines, key=lambda line: (line["order_nr"], line["id"]))

    def put_line(self, company_id: int, line: dict[str, Any]) -> None:
        self.store.put(
            "pipedrive:deal_product",
            self._key(company_id, line["id"]),
            line,
            scope=f"{company_id}:{line['deal_id']}",
        )

    def deal_discounts(self, company_id: int, deal_id: int) -> list[dict[str, Any]]:
        return self.store.all("pipedrive:deal_discount", f"{company_id}:{deal_id}")

    def put_discount(self, company_id: int, discount: dict[str, Any]) -> None:
        self.store.put(
            "pipedrive:deal_discount",
            self._key(company_id, discount["id"]),
            discount,
            scope=f"{company_id}:{discount['deal_id']}",
        )

    def find_deal(self, deal_id: int) -> tuple[int, dict[str, Any]] | None:
        """Deal ids are unique across the stand-in's companies (the control API's view)."""
        for company in self.companies():
            deal = self.get("deal", company["id"], deal_id)
            if deal is not None:
                return company["id"], deal
        return None

    # field definitions, in display order
    def fields(self, company_id: int, entity: str) -> list[dict[str, Any]]:
        return self.store.all("pipedrive:field", f"{company_id}:{entity}")

    def put_field(self, company_id: int, entity: str, definition: dict[str, Any]) -> None:
        self.store.put(
            "pipedrive:field",
            f"{company_id}:{entity}:{definition['key']}",
            definition,
            scope=f"{company_id}:{entity}",
        )


@dataclass
class Pipedrive:
    """The stand-in's own runtime state next to the shared sandbox."""

    sandbox: Sandbox
    grants: PipedriveGrants
    limits: RateLimits
    data: Data
    # Non-interactive consent for tests: {"user_id": 101} or {"deny": True}.
    auto_approve: dict[str, Any] | None = None
    uninstalls: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.limits.reset()
        self.auto_approve = None
        self.uninstalls.clear()

    def api_domain(self, company: dict[str, Any]) -> str:
        return f"{self.sandbox.settings.public_url.rstrip('/')}{PREFIX}/c/{company['domain']}"


def pipedrive_of(request: Request) -> Pipedrive:
    pd: Pipedrive = request.app.state.sandbox.extras["pipedrive"]
    return pd
