"""Alerts on their way out: the outbox, attempts, delivery health, threads, ownership and mutes, handled requests."""
