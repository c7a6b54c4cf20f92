"""The webhook inbox: verify, store, enqueue, answer. Processing happens in jobs."""
