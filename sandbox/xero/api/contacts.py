"""Contacts: list (searchTerm, where, IDs, paging), get by ContactID or ContactNumber, create,
update; the name is unique among active contacts (xero.md section 4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.xero.api import batch, query
from sandbox.xero.api.common import bad_request, ctx, not_found, respond, state_of
from sandbox.xero.state import XeroState, new_id

router = APIRouter()

WRITABLE = (
    "ContactNumber",
    "AccountNumber",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "ContactPersons",
    "BankAccountDetails",
    "TaxNumber",
    "TaxNumberType",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "Addresses",
    "Phones",
    "DefaultCurrency",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "PaymentTerms",
)
LIMITS = {
    "Name": 255,
    "EmailAddress": 255,
    "ContactNumber": 50,
    "TaxNumber": 50,
    "AccountNumber": 50,
}
STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")


def duplicate_name_message(name: str) -> str:
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


def find_contact(state: XeroState, tenant: str, ref: str) -> dict[str, Any] | None:
    """By ContactID, else by ContactNumber (both accepted in the path, xero.md 4)."""
    found = state.store.get("xero:contact", ref.lower())
    if found is not None and found["_tenant"] == tenant:
        return found
    for contact in state.store.all("xero:contact", scope=tenant):
        if contact.get("ContactNumber") and contact["ContactNumber"] == ref:
            return contact
    return None


def name_taken(state: XeroState, tenant: str, name: str, except_id: str | None) -> bool:
    wanted = name.strip().lower()
    return any(
        c["Name"].strip().lower() == wanted
        and c["ContactStatus"] == "ACTIVE"
        and c["ContactID"] != except_id
        for c in state.store.all("xero:contact", scope=tenant)
    )


def save_contact(
    state: XeroState, tenant: str, entity: dict[str, Any], existing: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """Create (existing None) or update a contact; returns (document, errors)."""
    errors: list[str] = []
    doc = dict(existing or {})
    changes = {k: entity[k] for k in WRITABLE if k in entity}
    doc.update(changes)
    name = str(doc.get("Name") or "").strip()
    if not name:
        # Wording for a missing name is UNCONFIRMED.
        errors.append("The contact name must be specified.")
    for field, limit in LIMITS.items():
        if isinstance(doc.get(field), str) and len(doc[field]) > limit:
            errors.append(f"The {field} must not be more than {limit} characters long.")
    status = doc.get("ContactStatus") or "ACTIVE"
    if status not in STATUSES:
        errors.append(f"The ContactStatus {status} is not valid.")
    currency = doc.get("DefaultCurrency")
    if currency and state.store.get("xero:currency", f"{tenant}:{currency}") is None:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    contact_id = (existing or {}).get("ContactID")
    if name and status == "ACTIVE" and name_taken(state, tenant, name, contact_id):
        errors.append(duplicate_name_message(name))
    if errors:
        return entity, errors
    doc.update(
        Name=name,
        ContactStatus=status,
        ContactID=contact_id or new_id(),
        UpdatedDateUTC=state.now_ms(),
        _tenant=tenant,
    )
    doc.setdefault("Addresses", [])
    doc.setdefault("Phones", [])
    doc.setdefault("ContactPersons", [])
    doc.setdefault("IsSupplier", False)
    doc.setdefault("IsCustomer", False)
    doc.setdefault("HasAttachments", False)
    doc["HasValidationErrors"] = False
    state.store.put("xero:contact", doc["ContactID"], doc, scope=tenant)
    if state.batcher is not None:
        state.batcher.add(tenant, "CONTACT", "UPDATE" if existing else "CREATE", doc["ContactID"])
    return doc, []


def _summary(contact: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "ContactID",
        "ContactNumber",
        "ContactStatus",
        "Name",
        "FirstName",
        "LastName",
        "EmailAddress",
        "TaxNumber",
        "DefaultCurrency",
        "IsSupplier",
        "IsCustomer",
        "UpdatedDateUTC",
        "HasAttachments",
        "HasValidationErrors",
    )
    return {k: contact[k] for k in keep if k in contact}


@router.get("/Contacts", response_model=None)
async def list_contacts(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    docs = state.store.all("xero:contact", scope=ctx(request)["tenant_id"])
    ids = query.id_list(params.get("IDs"))
    if ids is not None:
        docs = [d for d in docs if d["ContactID"] in ids]
    if params.get("includeArchived", "").lower() != "true" and ids is None:
        docs = [d for d in docs if d["ContactStatus"] != "ARCHIVED"]
    term = (params.get("searchTerm") or "").strip().lower()
    if term:
        fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
        docs = [d for d in docs if any(term in str(d.get(f) or "").lower() for f in fields)]
    try:
        docs = query.modified_since(docs, request.headers.get("if-modified-since"))
        docs = query.where(docs, params.get("where"))
        docs = query.order(docs, params.get("order"))
        docs, pagination = query.paginate(docs, params.get("page"), params.get("pageSize"))
    except query.QueryError as exc:
        return bad_request(request, str(exc))
    if params.get("summaryOnly", "").lower() == "true":
        docs = [_summary(d) for d in docs]
    return respond(request, "Contacts", docs, pagination=pagination)


@router.get("/Contacts/{ref}", response_model=None)
async def get_contact(request: Request, ref: str) -> Response:
    found = find_contact(state_of(request), ctx(request)["tenant_id"], ref)
    return respond(request, "Contacts", [found]) if found else not_found(request)


@router.put("/Contacts", response_model=None)
async def create_contacts(request: Request) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]
    return await batch.run(request, "Contacts", lambda e: save_contact(state, tenant, e, None))


@router.post("/Contacts", response_model=None)
async def create_or_update_contacts(request: Request) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        ref = entity.get("ContactID") or entity.get("ContactNumber")
        existing = find_contact(state, tenant, str(ref)) if ref else None
        if entity.get("ContactID") and existing is None:
            return entity, [f"Contact with ContactID {entity['ContactID']} could not be found"]
        return save_contact(state, tenant, entity, existing)

    return await batch.run(request, "Contacts", handle)


@router.post("/Contacts/{ref}", response_model=None)
async def update_contact(request: Request, ref: str) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]
    existing = find_contact(state, tenant, ref)
    if existing is None:
        return not_found(request)
    return await batch.run(request, "Contacts", lambda e: save_contact(state, tenant, e, existing))
