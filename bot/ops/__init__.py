"""Operations: liveness and readiness probes, Prometheus metrics, JSON logs, systemd notifications, cron pings."""
