"""Accounting API v3 under /quickbooks/api/v3/company/{realmId}/ (quickbooks.md §2 to §7)."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.quickbooks.api import reads, recurring, writes


def install(router: APIRouter) -> None:
    """Writes first: the reads end with the catch-all ``GET /{entity}/{id}``."""
    router.include_router(writes.router())
    router.include_router(recurring.router())
    router.include_router(reads.router())
