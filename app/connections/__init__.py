"""Accounting connections: OAuth connect, encrypted tokens, locked refresh, disconnect."""
