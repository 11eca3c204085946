"""Slack: the Bolt app, the request gate, clicks and modals, Block Kit rendering and its limits, the manifest."""
