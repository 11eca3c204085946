"""Keeping the file healthy: backups, retention and the readiness checks' queries."""
