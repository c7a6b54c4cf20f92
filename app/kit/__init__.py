"""The base layer: HTTP transport, OAuth client base and token refresher, signing, crypto.

Nothing here knows a provider, a CRM or the domain: it imports only app.config, app.logs and
app.errors, and the packages above it pass their differences in as parameters.
"""
