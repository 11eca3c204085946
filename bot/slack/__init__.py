"""Slack: the Bolt app, request gate and ack-first path, clicks, modals, Block Kit and its limits, the manifest."""
