"""Local stand-ins for Pipedrive, Xero and QuickBooks Online.

They are written from the providers' documentation, independently of our adapters
(app/providers, app/crm), and share only HTTP and storage plumbing with the rest of the code:
of app/ they import app.config and app.logs and nothing else. The package ships in the wheel for
`invoicing sandbox` and `invoicing demo`, and is left out of the production image.

Shared plumbing lives here: app.py (the one ASGI app), config.py, store.py, clock.py,
faults.py, limits.py, oauth.py (authorization-server building blocks), webhooks.py (outgoing
deliveries), control.py (/_sandbox), templating.py with templates/ and static/.

Each stand-in (pipedrive/, xero/, quickbooks/) has the same shape, where the concept exists:

    routes.py    install(app, sandbox): mounts all below, reset hook, demo seeder, fault bodies
    state.py     the stand-in's runtime state and its documents in the shared store
    errors.py    the service's error shapes and the bodies of injected faults
    oauth.py     the authorization server: consent page, token, revoke
    api/         the API our adapters call: __init__.py mounts it, common.py holds what every
                 endpoint shares (caller, envelope, paging), then one module per resource
    pages.py     browser pages (consent pages live in oauth.py, rendered from templates/)
    extensions.py  (Pipedrive) the host of our custom UIs; its script is static/pipedrive/host.js
    control.py   the stand-in's part of the control API (/_sandbox/<service>/...)
    seed.py      its part of the demo world (docs/demo-data.md)
    webhooks.py  what it sends out
    limits.py    its own rate limits;  rules.py  pure amount and status rules;  pdf.py
"""
