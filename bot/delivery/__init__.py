"""Alert delivery: the outbox loop, its sinks (Slack or terminal), what failures mean, and threads."""
