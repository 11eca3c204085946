"""Recording session state: one alert when a session expires, one when it is restored, one before cookies expire.

Each alert goes to the source's channel (or the alerts channel) and, as a DM, to each admin: the people who can
refresh the session. Unique outbox keys make each one exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.database import Database
from storage.db import stamp
from storage.outbox import alerts as outbox
from storage.watching import sessions
from watchers.sources import SourceSpec

COOKIE_WARNING = timedelta(days=1)


def _how(spec: SourceSpec) -> dict[str, object]:
    """What the alert needs to say how to refresh the session (names, never values)."""
    return {
        "source_id": spec.id,
        "url": spec.url,
        "cookies": spec.cookies,
        "header_names": [name for name, _ in spec.headers],
    }


def _enqueue(
    db: Database,
    key: str,
    kind: str,
    payload: dict[str, object],
    spec: SourceSpec,
    now: datetime,
    admins: Sequence[str],
) -> None:
    outbox.enqueue_alert(db, key, kind, payload, now, source_id=spec.id, channel=spec.channel)
    for admin in admins:
        outbox.enqueue_alert(db, f"{key}:{admin}", kind, payload, now, source_id=spec.id, user_id=admin)


def record_logged_out(db: Database, spec: SourceSpec, reason: str, now: datetime, admins: Sequence[str]) -> None:
    """The session has expired: a state, with one alert when it starts; no snapshot, no diff."""
    started = sessions.mark_logged_out(db, spec.id, now, reason)
    if started is not None:
        _enqueue(
            db,
            f"session-expired:{spec.id}:{started}",
            "session-expired",
            {**_how(spec), "reason": reason},
            spec,
            now,
            admins,
        )


def record_session_back(db: Database, spec: SourceSpec, now: datetime, admins: Sequence[str]) -> bool:
    """The source answers with content again: clear the state and say so once. True if it had expired."""
    since = sessions.mark_session_restored(db, spec.id)
    if since is None:
        return False
    _enqueue(
        db, f"session-restored:{spec.id}:{since}", "session-restored", {**_how(spec), "since": since}, spec, now, admins
    )
    return True


def warn_cookie_expiry(
    db: Database, spec: SourceSpec, expiry: tuple[datetime, str], now: datetime, admins: Sequence[str]
) -> bool:
    """A day before the earliest expiry among the cookies sent to the source, warn once (keyed by that moment)."""
    expires, name = expiry
    if now < expires - COOKIE_WARNING:
        return False
    key = f"cookies-expiring:{spec.id}:{stamp(expires)}"
    payload = {**_how(spec), "expires": stamp(expires), "cookie": name}
    _enqueue(db, key, "cookies-expiring", payload, spec, now, admins)
    return True
