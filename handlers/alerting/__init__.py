"""What alerts say: composed from the outbox row, with their meaning, level, event and notices."""
