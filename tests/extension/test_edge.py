"""Pipedrive's calls with ids we could never have given it: 422 in the envelope, no call out."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.extension.helpers import fails


@pytest.mark.parametrize("bad", ["a\x07b", "a b", "é"])
async def test_ids_that_are_not_url_safe_are_refused_before_any_call(pd, links, sandbox, bad):
    await sandbox.clear_requests()
    link = links["xero"]
    for name, ids in (
        ("getContact", {"contactId": quote(bad, safe="")}),
        ("getProduct", {"productId": quote(bad, safe="")}),
        ("getInvoiceShareUrl", {"invoiceId": quote(bad, safe="")}),
    ):
        fails(await pd(name, link, **ids), 422)
    summary = await pd("getInvoiceSummary", link, params={"contactId": bad})
    fails(summary, 422, "contactId")
    assert await sandbox.requests() == []
