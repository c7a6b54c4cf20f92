"""Local stand-ins for Pipedrive, Xero and QuickBooks Online.

They are written from the providers' documentation, independently of our adapters
(app/providers, app/crm), and share only HTTP and storage plumbing with the rest of the code.
"""
