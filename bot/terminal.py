"""Terminal mode: alerts printed to stdout instead of posted to Slack."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime

from bot.render import to_text
from bot.runtime import Runtime
from handlers.alerts import compose_alert
from storage import alerts as outbox
from storage.db import transaction


def print_alerts(runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    """Print every pending alert once and mark it sent; returns how many were printed."""
    printed = 0
    for alert in outbox.pending_alerts(runtime.db):
        message = compose_alert(runtime.db, alert, runtime.config.bot.tz)
        with transaction(runtime.db):
            if message is None:
                outbox.mark_failed(runtime.db, alert["id"], now, "nothing left to say (its change was removed)")
                continue
            target = (
                f"DM {alert['user_id']}" if alert["user_id"] else alert["channel"] or runtime.config.bot.alerts_channel
            )
            if not alert["user_id"] and alert["payload"].get("person_id"):  # a DM to someone known by email only
                target = f"DM {alert['payload'].get('to')} (by email {alert['payload'].get('email')})"
            out(f"\n[alert → {target or 'terminal'}]")
            out(textwrap.indent(to_text(message), "  "))
            outbox.mark_sent(runtime.db, alert["id"], now)
        printed += 1
    return printed
