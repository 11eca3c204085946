"""People: certifications and their reminders, departures and binding, what-if, matrix, coverage and the exam plan."""
