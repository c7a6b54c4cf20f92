from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    pipedrive_user_id: int
    name: str
    email: str
    is_admin: bool


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    pipedrive_company_id: int
    domain: str
    name: str


class MeOut(BaseModel):
    user: UserOut
    company: CompanyOut


class HandoffOut(BaseModel):
    handoff: str
    expires_in: int
