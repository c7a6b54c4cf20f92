"""A scripted Pipedrive for app-level tests that must not depend on the sandbox's timing.

Two companies shaped like docs/demo-data.md (7001 northwind, 7002 contoso). Mounted by swapping
the app's shared HTTP client for one with a MockTransport; the sandbox-backed tests cover the
real HTTP path.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import httpx2

BASE = "https://pd.test"
USERS = {
    101: {
        "company_id": 7001,
        "name": "Nora Admin",
        "email": "nora@northwind.test",
        "is_admin": True,
    },
    102: {
        "company_id": 7001,
        "name": "Sam Sales",
        "email": "sam@northwind.test",
        "is_admin": False,
    },
    201: {
        "company_id": 7002,
        "name": "Colin Admin",
        "email": "colin@contoso.test",
        "is_admin": True,
    },
}
COMPANIES = {
    7001: {"name": "Northwind Traders", "domain": "northwind", "vat": "a" * 40, "offset": 0},
    7002: {"name": "Contoso Pty", "domain": "contoso", "vat": "c" * 40, "offset": 100},
}


class FakePipedriveWorld:
    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.tokens: dict[str, int] = {}  # access token -> user id
        self.requests: list[str] = []
        self.deleted_fields: set[str] = set()

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def _basic_ok(self, request: httpx2.Request) -> bool:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if path == "/oauth/oauth/token":
            if not self._basic_ok(request):
                return httpx2.Response(401, json={"error": "invalid_client"})
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if form.get("grant_type") != "authorization_code" or not form.get(
                "code", ""
            ).startswith("code-"):
                return httpx2.Response(400, json={"error": "invalid_grant"})
            if form.get("redirect_uri") != self.redirect_uri:
                return httpx2.Response(400, json={"error": "redirect_uri is invalid"})
            user_id = int(form["code"].removeprefix("code-"))
            token = f"v1u:token-{user_id}-{len(self.tokens)}"
            self.tokens[token] = user_id
            domain = COMPANIES[USERS[user_id]["company_id"]]["domain"]
            return httpx2.Response(
                200,
                json={
                    "access_token": token,
                    "refresh_token": f"1:1:refresh-{user_id}",
                    "token_type": "Bearer",
                    "expires_in": 3599,
                    "scope": "base deals:read products:read contacts:read",
                    "api_domain": f"{BASE}/c/{domain}",
                },
            )
        parts = path.split("/")
        if len(parts) < 4 or parts[1] != "c":
            return httpx2.Response(404, json={"success": False})
        domain = parts[2]
        rest = "/" + "/".join(parts[3:])
        auth = request.headers.get("authorization", "")
        user_id = self.tokens.get(auth.removeprefix("Bearer "))
        if user_id is None:
            return httpx2.Response(401, json={"success": False, "error": "unauthorized"})
        company_id = USERS[user_id]["company_id"]
        company = COMPANIES[company_id]
        if company["domain"] != domain:
            return httpx2.Response(401, json={"success": False, "error": "wrong company"})
        body = self.answer(rest, user_id, company_id, company, request)
        if body is None:
            return httpx2.Response(404, json={"success": False, "error": "not found"})
        return httpx2.Response(200, json=body)

    def answer(
        self, rest: str, user_id: int, company_id: int, company: dict[str, Any], request: Any
    ) -> Any:
        off = company["offset"]
        if rest == "/api/v1/users/me":
            user = USERS[user_id]
            return {
                "success": True,
                "data": {
                    "id": user_id,
                    "company_id": company_id,
                    "company_name": company["name"],
                    "company_domain": company["domain"],
                    "name": user["name"],
                    "email": user["email"],
                    "is_admin": user["is_admin"],
                },
            }
        fields = {
            "organizationFields": [
                ("name", "Name", "varchar", False),
                ("address", "Address", "address", False),
                (company["vat"], "VAT number", "varchar", True),
            ],
            "personFields": [
                ("name", "Name", "varchar", False),
                ("email", "Email", "varchar", False),
            ],
            "dealFields": [
                ("title", "Title", "varchar", False),
                ("value", "Value", "monetary", False),
                ("add_time", "Deal created", "date", False),
            ],
        }
        for name, rows in fields.items():
            if rest == f"/api/v2/{name}":
                return {
                    "success": True,
                    "data": [
                        {
                            "field_code": key,
                            "field_name": label,
                            "field_type": ftype,
                            "is_custom_field": custom,
                        }
                        for key, label, ftype, custom in rows
                        if key not in self.deleted_fields
                    ],
                    "additional_data": {"next_cursor": None},
                }
        if rest == "/api/v2/deals":
            return {"success": True, "data": [{"id": 31 + off, "title": "Acme rollout"}]}
        if rest == f"/api/v2/deals/{31 + off}":
            return {
                "success": True,
                "data": {
                    "id": 31 + off,
                    "title": "Acme rollout",
                    "currency": "NZD",
                    "value": 7300,
                    "org_id": 11 + off,
                    "person_id": 21 + off,
                },
            }
        if rest == f"/api/v2/deals/{31 + off}/products":
            return {"success": True, "data": [], "additional_data": {"next_cursor": None}}
        if rest == f"/api/v2/deals/{31 + off}/discounts":
            return {"success": True, "data": []}
        if rest == f"/api/v2/organizations/{11 + off}":
            return {
                "success": True,
                "data": {
                    "id": 11 + off,
                    "name": "Acme Ltd",
                    "address": {
                        "value": "12 Queen Street, Auckland 1010, New Zealand",
                        "street_number": "12",
                        "route": "Queen Street",
                        "locality": "Auckland",
                        "postal_code": "1010",
                        "country": "New Zealand",
                    },
                    "custom_fields": {company["vat"]: "NZ-123-456-789"},
                },
            }
        if rest == f"/api/v2/persons/{21 + off}":
            return {
                "success": True,
                "data": {
                    "id": 21 + off,
                    "name": "Alice Buyer",
                    "emails": [
                        {"value": "alice@acme.test", "primary": True},
                        {"value": "accounts@acme.test", "primary": False},
                    ],
                },
            }
        return None
