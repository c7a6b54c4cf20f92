from tests.invoices.helpers import body, create, draft


async def test_create_xero_31(client, northwind, sandbox):
    d = await draft(client, northwind.headers, 31, "xero")
    r = await create(client, northwind.headers, 31, body(d))
    print(r.status_code, r.json())
    assert r.status_code == 201


async def test_create_qbo_31(client, northwind):
    d = await draft(client, northwind.headers, 31, "quickbooks")
    r = await create(client, northwind.headers, 31, body(d))
    print(r.status_code, r.json())
    assert r.status_code == 201
    print((await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json())
