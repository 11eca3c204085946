"""The partner-knowledge sections: defaults from the seed, and errors that name the file, the key and the fix."""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path

import pytest

from bot.config.loading import Config, ConfigError, parse_config

SOURCES = """
[[sources]]
id = "cross-cloud-policy"
kind = "html"
url = "https://example.com/policy.html"
topic = "policy"
"""


def load(text: str, tmp_path: Path) -> Config:
    return parse_config(tomllib.loads(text), {}, "whisperer.toml", tmp_path)


def test_defaults_come_from_the_seed_and_the_partner_section(tmp_path: Path) -> None:
    config = load('[partner]\ntier = "Premier"\nstatus_expires = 2027-03-31\n', tmp_path)
    k = config.knowledge
    assert k.renewal.date == date(2027, 3, 31)
    assert [(x.id, x.min, x.max) for x in k.renewal.kpis] == [
        ("cloud_growth", 25, None),
        ("certified_architects", 3, None),
        ("licence_escalations", None, 0),
    ]
    assert {x.consequence for x in k.renewal.kpis} == {"Provisional until Q3"}
    assert k.reminders.days_before == (90, 60, 30, 7, 1)
    assert k.dealreg.hours_before == 72
    assert k.certifications.years_for("HCIE") == 3
    assert k.certifications.in_group("architects", "hcie-cloud service solutions architect")
    assert not k.certifications.in_group("architects", "HCIP-Cloud Service Solutions Architect")
    assert k.rebates == ()


def test_every_section_is_read(tmp_path: Path) -> None:
    config = load(
        SOURCES
        + """
[renewal]
date = 2027-06-30
consequence = "Downgraded"
[[renewal.kpis]]
id = "growth"
label = "Growth"
metric = "cloud_growth"
min = 30
unit = "%"
warn_within = 2

[metrics]
paid_seats = { label = "Paid seats", unit = "seats" }

[certifications]
validity_years = 2
validity_by_level = { HCIE = 3 }
groups = { developers = ["HCCDP*"] }

[reminders]
days_before = [7, 30]
working_hours = "08:30-17:00"
working_days = ["mon", "tue"]
weekly_summary = "friday"

[dealreg]
hours_before = 96
rfp_time = "09:00"
checklist = ["Signed LOI"]

[glossary]
terms = { PSM = "Partner Solution Management" }

[[rebates]]
id = "cross-cloud"
name = "Cross-cloud rebate"
source = "cross-cloud-policy"
min_tier = "Advanced"
no_overdue_bills = true
min_metrics = { cloud_growth = 30, paid_seats = 10 }
min_certified = { developers = 2 }
claim_opens = 2027-01-01
claim_closes = 2027-03-31
""",
        tmp_path,
    )
    k = config.knowledge
    assert k.renewal.date == date(2027, 6, 30)
    assert [(x.id, x.min, x.warn_within, x.consequence) for x in k.renewal.kpis] == [("growth", 30, 2, "Downgraded")]
    assert k.metric("paid_seats") is not None and k.metric("paid_seats").unit == "seats"
    assert k.certifications.years_for("HCIE") == 3 and k.certifications.years_for("HCIA") == 2
    assert k.certifications.in_group("developers", "HCCDP-Cloud Native")
    assert k.reminders.days_before == (30, 7)
    assert (k.reminders.work_start, k.reminders.work_end) == (time(8, 30), time(17, 0))
    assert k.reminders.work_days == (0, 1) and k.reminders.weekly_summary == 4
    assert (k.dealreg.hours_before, k.dealreg.rfp_time, k.dealreg.checklist) == (96, time(9), ("Signed LOI",))
    assert k.glossary == (("PSM", "Partner Solution Management"),)
    rebate = k.rebate("cross-cloud")
    assert rebate is not None
    assert rebate.min_metrics == (("cloud_growth", 30.0), ("paid_seats", 10.0))
    assert rebate.min_certified == (("developers", 2),)
    assert k.metric("overdue_bills") is not None  # named by no_overdue_bills


@pytest.mark.parametrize(
    ("text", "where", "fix"),
    [
        ("[renewal]\ndat = 2027-01-01", "whisperer.toml: renewal.dat", "did you mean 'date'?"),
        ("[[renewal.kpis]]\nid = 'x'\nmin = 1", "renewal.kpis[0].metric", "metric set"),
        ("[[renewal.kpis]]\nid = 'x'\nmetric = 'm'", "renewal.kpis[0].min", "min = 25"),
        ("[[renewal.kpis]]\nid = 'x'\ncertified = 'devs'\nmin = 1", "renewal.kpis[0].certified", "architects"),
        ("[[rebates]]\nid = 'r'\nsource = 'nope'", "rebates[0].source", "[[sources]] id"),
        ("[[rebates]]\nid = 'r'\nmin_metrics = { 'Cloud Growth' = 1 }", "min_metrics.Cloud Growth", "lowercase"),
        ("[reminders]\ndays_before = [90, 'soon']", "reminders.days_before", "[90, 60, 30, 7, 1]"),
        ("[reminders]\nworking_hours = '18:00-09:00'", "reminders.working_hours", "09:00-18:00"),
        ("[reminders]\nweekly_summary = 'someday'", "reminders.weekly_summary", "monday"),
        ("[dealreg]\nrfp_time = '25:00'", "dealreg.rfp_time", '"09:00"'),
        ("[certifications]\nvalidity_by_level = { HCXX = 2 }", "validity_by_level.HCXX", "HCIA"),
        ("[glossary]\nterms = { ECS = '' }", "glossary.terms.ECS", "what it means"),
        ("[metrics]\ngrowth = 5", "metrics.growth", "label"),
    ],
)
def test_errors_name_the_key_and_the_fix(text: str, where: str, fix: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(SOURCES + text, tmp_path)
    assert where in caught.value.where
    assert fix in caught.value.fix
