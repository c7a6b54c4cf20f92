from __future__ import annotations

from fastapi import APIRouter

from app.tenants.dependencies import CurrentCompany, CurrentUser
from app.tenants.handoff import HANDOFF_TTL_SECONDS, issue_handoff
from app.tenants.repository import UserRepository
from app.tenants.schemas import CompanyOut, HandoffOut, MeOut, UserOut
from app.web import DbSession, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["tenants"])


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, company: CurrentCompany) -> MeOut:
    """The signed-in user and their company."""
    return MeOut(user=UserOut.model_validate(user), company=CompanyOut.model_validate(company))


@router.get("/users", response_model=list[UserOut])
async def list_users(user: CurrentUser, session: DbSession) -> list[UserOut]:
    """The company's installed users."""
    rows = await UserRepository(session, user.company_id).list()
    return [UserOut.model_validate(r) for r in rows]


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: str, user: CurrentUser, session: DbSession) -> UserOut:
    """One user of the caller's company; another company's user is 404."""
    row = await UserRepository(session, user.company_id).get_or_404(user_id)
    return UserOut.model_validate(row)


@router.post("/session/handoff", response_model=HandoffOut, tags=["session"])
async def handoff(user: CurrentUser, settings: SettingsDep) -> HandoffOut:
    """A one-time code (single use, valid 60 s) that opens another of our pages signed in as
    the caller: ``/connections?handoff=<code>``. Our pages' links ask for one when clicked, so
    no session token ever travels in a URL."""
    return HandoffOut(handoff=issue_handoff(settings, user), expires_in=HANDOFF_TTL_SECONDS)
