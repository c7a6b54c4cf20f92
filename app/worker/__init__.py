"""Job plumbing: the outbox table, the dispatcher, taskiq brokers, retries and the schedule.

Domain packages declare handlers with ``@job("name")`` in their ``tasks.py`` and record jobs
with ``enqueue(session, "name", ...)`` in the same transaction as the change that causes them.
Nothing here knows what a job does: the database is the source of truth, the broker only
carries a job's id to whichever process runs it.
"""
