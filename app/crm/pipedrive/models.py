from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, new_uuid
from app.security import EncryptedString


class PipedriveInstallation(TimestampMixin, Base):
    """One user's OAuth install of the app: encrypted tokens and the company's API domain.

    Deleting this row is what "uninstalled" means for the user.
    """

    __tablename__ = "pipedrive_installation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    company_id: Mapped[str] = mapped_column(
        ForeignKey("company.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("crm_user.id", ondelete="CASCADE"), unique=True)
    # Pipedrive access tokens grow over time; ciphertext is ~1.4x longer still.
    access_token: Mapped[str] = mapped_column(EncryptedString(2048))
    refresh_token: Mapped[str] = mapped_column(EncryptedString(2048))
    expires_at: Mapped[datetime]
    api_domain: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(1024), default="")
