"""Metric watches: numbers read from a real local dashboard into the metric history (marked with their source),
one alert on a zone change or a threshold crossing, a warning (never a zero) when unreadable, and the KPI fed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ALLOW_LOOPBACK, NOW, FixtureServer, Response, Watch

from bot.config.loading import ConfigError, load_config
from bot.slack.render import to_text
from handlers.alerting.compose import compose_alert
from handlers.programme.metrics import sparkline
from handlers.registry import Context, dispatch
from watchers.facts.metrics import describe_move, parse_number, zone_of
from watchers.sources import MetricWatch, SourceSpec

HTML = {"Content-Type": "text/html; charset=utf-8"}
EMI = MetricWatch(
    name="emi",
    label="EMI",
    pattern=r"EMI\D{0,40}?([0-9]+(?:\.[0-9]+)?)",
    zones=(("red", 60.0), ("yellow", 70.0)),
)
GROWTH = MetricWatch(name="cloud_growth", pattern=r"growth: ([0-9.,]+)%", unit="%", thresholds=(25.0,))


def dashboard(emi: str, growth: str, seconds: int = 47) -> bytes:
    return (
        "<html><body><h1>Partner dashboard</h1>"
        f"<p class=emi>Ecosystem Maturity Index (EMI) Score: {emi} (Green Zone!) · refreshed {seconds} seconds ago</p>"
        f"<p>Cloud consumption growth: {growth}% YoY</p></body></html>"
    ).encode()


def metric_rows(watch: Watch, name: str) -> list[tuple[float, str | None]]:
    rows = watch.db.execute("SELECT value, source_id FROM metrics WHERE name = ? ORDER BY id", [name]).fetchall()
    return [(float(v), s) for v, s in rows]


def test_zones_and_moves() -> None:
    assert [zone_of(EMI, v) for v in (59.9, 60, 69.9, 70, 73.8)] == ["red", "yellow", "yellow", "green", "green"]
    escalations = MetricWatch(name="escalations", pattern="(x)", zones=(("red", 3.0), ("yellow", 1.0)))
    assert [zone_of(escalations, v) for v in (0, 1, 2, 3)] == ["green", "yellow", "yellow", "red"]
    assert describe_move(EMI, 73.8, 68.1) == "EMI fell from 73.8 (green) to 68.1 (yellow)"
    assert describe_move(EMI, 73.8, 71) is None
    assert describe_move(GROWTH, 27, 24.5) == "cloud_growth fell from 27% to 24.5%, crossing 25%"
    assert [parse_number(t) for t in ("73.8", "1,234.5", "73,8", "25%")] == [73.8, 1234.5, 73.8, 25.0]
    assert sparkline([73.8, 72.0, 68.1, 68.1]) == "█▆▁▁"


def test_emi_zone_change_is_one_alert_history_kept_and_kpi_fed(server: FixtureServer, watch: Watch) -> None:
    spec = SourceSpec(
        id="dashboard",
        kind="html",
        url=server.url("/dashboard"),
        ignore=(r"EMI.*",),  # the score's line churns; the metric still reads it (before noise removal)
        metrics=(EMI, GROWTH),
        channel="#kpis",
    )
    server.routes["/dashboard"] = Response(body=dashboard("73.8", "27.5"), headers=HTML)
    assert watch.poll(spec)["dashboard"].status == "new"

    server.routes["/dashboard"] = Response(body=dashboard("72.0", "27.5", 12), headers=HTML)
    assert watch.poll(spec, now=NOW + timedelta(minutes=30))["dashboard"].status == "unchanged"
    server.routes["/dashboard"] = Response(body=dashboard("68.1", "22.0", 5), headers=HTML)
    outcome = watch.poll(spec, now=NOW + timedelta(minutes=60))["dashboard"]
    assert outcome.status == "changed"  # the growth line changed; the EMI line is ignored as page content
    watch.poll(spec, now=NOW + timedelta(minutes=90))  # same bytes: nothing read twice, nothing said twice

    assert metric_rows(watch, "emi") == [(73.8, "dashboard"), (72.0, "dashboard"), (68.1, "dashboard")]
    zone_alerts = watch.alerts("metric-zone")
    assert len(zone_alerts) == 1 and zone_alerts[0]["channel"] == "#kpis"
    payload = json.loads(zone_alerts[0]["payload"])
    assert payload["text"] == "EMI fell from 72 (green) to 68.1 (yellow)"
    (crossing,) = watch.alerts("metric-threshold")
    assert json.loads(crossing["payload"])["text"] == "cloud_growth fell from 27.5% to 22%, crossing 25%"
    message = compose_alert(watch.db, {**zone_alerts[0], "payload": payload}, ZoneInfo("UTC"))
    assert message is not None and "🟡 EMI fell from 72 (green) to 68.1 (yellow)" in to_text(message, color=False)

    ctx = Context(db=watch.db, now=NOW + timedelta(hours=2), tz=ZoneInfo("UTC"), sources=(spec,))
    renewal = to_text(dispatch(ctx, "renewal"), color=False)
    assert "Cloud consumption growth (YoY): 22% (needs ≥ 25%) — missed" in renewal
    history = to_text(dispatch(ctx, "metric emi"), color=False)
    assert "68.1 █▆▁ 🟡 yellow (red below 60, yellow below 70; green otherwise)" in history
    assert "from dashboard" in history


def test_unreadable_metric_is_a_warning_not_zero(server: FixtureServer, watch: Watch) -> None:
    spec = SourceSpec(id="dashboard", kind="html", url=server.url("/dashboard"), metrics=(EMI,))
    server.routes["/dashboard"] = Response(body=dashboard("73.8", "27"), headers=HTML)
    watch.poll(spec)
    server.routes["/dashboard"] = Response(body=b"<html><body><p>Dashboard under maintenance</p></body></html>")
    outcome = watch.poll(spec, now=NOW + timedelta(minutes=30))["dashboard"]
    assert outcome.status == "changed"
    assert outcome.warning == "metric emi: its pattern found nothing on the page; check it still shows"
    assert metric_rows(watch, "emi") == [(73.8, "dashboard")]
    assert watch.alerts("metric-zone") == []


def test_json_source_feeds_a_metric(server: FixtureServer, watch: Watch) -> None:
    score = MetricWatch(name="emi", pattern=r"data\.emi\.score: ([0-9.]+)", zones=(("red", 60.0), ("yellow", 70.0)))
    spec = SourceSpec(id="api", kind="json", url=server.url("/api"), metrics=(score,))
    server.routes["/api"] = Response(
        body=b'{"data": {"emi": {"score": 73.8}}}', headers={"Content-Type": "application/json"}
    )
    watch.poll(spec)
    server.routes["/api"] = Response(
        body=b'{"data": {"emi": {"score": 59}}}', headers={"Content-Type": "application/json"}
    )
    watch.poll(spec, now=NOW + timedelta(minutes=5))
    (alert,) = watch.alerts("metric-zone")
    assert json.loads(alert["payload"])["text"] == "emi fell from 73.8 (green) to 59 (red)"


def test_config_metrics_tables(tmp_path: Path) -> None:
    config = tmp_path / "whisperer.toml"
    base = ALLOW_LOOPBACK + '[[sources]]\nid = "dash"\nkind = "html"\nurl = "https://portal.example/"\n'
    config.write_text(
        base + '[[sources.metrics]]\nname = "emi"\nlabel = "EMI"\npattern = \'EMI\\D{0,40}?([0-9.]+)\'\n'
        "zones = { red = 60, yellow = 70 }\n",
        encoding="utf-8",
    )
    (spec,) = load_config(config, env={}).sources
    assert spec.metrics == (MetricWatch("emi", r"EMI\D{0,40}?([0-9.]+)", "EMI", (("red", 60.0), ("yellow", 70.0))),)
    config.write_text(base + "[[sources.metrics]]\nname = \"emi\"\npattern = 'EMI [0-9.]+'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config, env={})
    assert "sources[0].metrics[0].pattern" in str(info.value) and "no capture group" in str(info.value)
    config.write_text(
        base + "[[sources.metrics]]\nname = \"emi\"\npattern = '([0-9]+)'\nzones = { amber = 3 }\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config, env={})
    assert "zones.amber" in str(info.value)


def test_a_new_metric_watch_reads_the_unchanged_page(server: FixtureServer, watch: Watch) -> None:
    server.routes["/dashboard"] = Response(body=dashboard("73.8", "27"), headers=HTML)
    plain = SourceSpec(id="dashboard", kind="html", url=server.url("/dashboard"))
    watch.poll(plain)
    assert watch.poll(plain, now=NOW + timedelta(minutes=5))["dashboard"].status == "unchanged"
    watched = SourceSpec(id="dashboard", kind="html", url=server.url("/dashboard"), metrics=(EMI,))
    assert watch.poll(watched, now=NOW + timedelta(minutes=10))["dashboard"].status == "unchanged"
    assert metric_rows(watch, "emi") == [(73.8, "dashboard")]
