"""People: who they are, their certifications, reminder holds, departures, and the reminder sweep's bookkeeping."""
