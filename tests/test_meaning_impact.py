"""Impact on us, thresholds that follow their pages, term glosses: pure functions and the config that feeds them."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from bot.config.loading import Config, ConfigError, parse_config
from bot.process.meaning import followers, tracked_dates
from watchers.facts.follow import Follow, check_pattern, read_followed
from watchers.facts.gloss import gloss_line, gloss_lines, show_gloss, term_list
from watchers.facts.impact import Follower, Impact, date_impact, threshold_impact, urgent_reasons

FOLLOW = Follow("cross-cloud-policy", r"at least (\d+)% year on year")
KPI = Follower("kpi", "Cloud growth", "cloud_growth", "min", "%", FOLLOW, 25, date(2027, 3, 31), "Provisional until Q3")
REBATE = Follower("rebate", "Cross-cloud growth rebate", "cloud_growth", "min", "%", FOLLOW, 25)
ESCALATIONS = Follower("kpi", "Escalations", "licence_escalations", "max", "", FOLLOW, 2, None, "")


@pytest.mark.parametrize(
    ("follower", "old", "new", "ours", "sentence", "urgent"),
    [
        (KPI, 20, 25, 27, "You are at 27%: still met, margin down from 7 to 2 points.", "moves your renewal KPI"),
        (KPI, 25, 20, 27, "You are at 27%: still met, margin up from 2 to 7 points.", "moves your renewal KPI"),
        (
            KPI,
            25,
            30,
            27,
            "Now missed by 3 points: the renewal on 2027-03-31 is at risk (Provisional until Q3).",
            "your renewal KPI is now missed",
        ),
        (KPI, 30, 25, 27, "You are at 27%: now met, by 2 points.", "moves your renewal KPI"),
        (KPI, 30, 35, 27, "You are at 27%: still missed, now by 8 points (was 3 points).", "moves your renewal KPI"),
        (
            REBATE,
            25,
            28,
            27,
            "Now missed by 1 point: you no longer qualify for the Cross-cloud growth rebate.",
            "a criterion of the Cross-cloud growth rebate is now missed",
        ),
        (ESCALATIONS, 2, 1, 1, "You are at 1: still met, margin down from 1 to 0.", "moves your renewal KPI"),
        (
            KPI,
            20,
            25,
            None,
            "Cloud growth now needs ≥ 25% (was 20%); your value is not recorded: "
            "/whisperer metric set cloud_growth VALUE.",
            "moves your renewal KPI",
        ),
    ],
)
def test_threshold_impact_says_it_with_our_number(
    follower: Follower, old: float, new: float, ours: float | None, sentence: str, urgent: str
) -> None:
    impact = threshold_impact(follower, old, new, ours)
    assert (impact.sentence, impact.urgent) == (sentence, urgent)


def test_date_impact_and_urgent_reasons() -> None:
    later = date_impact("Claims close", date(2027, 1, 15), date(2027, 1, 31))
    assert later.sentence == "Claims close 16 days later: 2027-01-31."
    earlier = date_impact("Claims close", date(2027, 1, 15), date(2027, 1, 14))
    assert earlier.sentence == "Claims close 1 day earlier: 2027-01-14."
    quiet = Impact("zone", "EMI rose from 70 to 71.")
    stored = [later.as_dict(), quiet.as_dict(), threshold_impact(KPI, 20, 25, 27).as_dict()]
    assert urgent_reasons(stored) == ["moves one of your deadlines", "moves your renewal KPI"]
    assert urgent_reasons([quiet]) == []
    assert urgent_reasons([later, later]) == ["moves one of your deadlines"]


def test_follow_patterns_read_the_number_or_say_what_is_wrong() -> None:
    assert read_followed(FOLLOW, "Growth must be at least 25% year on year.") == (25.0, "at least 25% year on year")
    assert read_followed(FOLLOW, "Growth must be at least a lot year on year.") is None
    assert check_pattern("at least (") is not None and "not a regular expression" in (check_pattern("(") or "")
    assert "has no group" in (check_pattern(r"at least \d+%") or "")
    assert check_pattern(r"at least (\d+)%") is None


def test_term_gloss_finds_the_longest_terms_once_and_the_glossary_wins() -> None:
    terms = term_list([("商机报备", "deal registration (DR)"), ("ROMA", "ignored: not a non-Latin term")])
    assert "ROMA" not in terms
    shown = show_gloss(gloss_line("商机报备：须在RFP发布前72小时完成。", terms))
    assert shown.startswith("商机报备 deal registration (DR)")
    assert [t for t, _ in gloss_line("云消费同比增长不低于25%，同比", terms)] == ["云消费", "同比", "增长", "不低于"]
    assert gloss_lines(["Growth at least 25%", "云消费同比增长不低于20%。", "云消费同比增长不低于25%。"], terms) == [
        {
            "line": "云消费同比增长不低于20%。",
            "terms": [
                ["云消费", "cloud consumption"],
                ["同比", "year on year"],
                ["增长", "growth"],
                ["不低于", "at least"],
            ],
        }
    ]


SOURCES = """
[partner]
status_expires = 2027-03-31

[[sources]]
id = "cross-cloud-policy"
kind = "html"
url = "https://example.com/policy.html"
topic = "policy"
"""
KPI_TOML = """
[[renewal.kpis]]
id = "cloud_growth"
metric = "cloud_growth"
min = 25
unit = "%"
follow = { source = "cross-cloud-policy", pattern = 'at least (\\d+)% year on year' }
"""


def load(text: str, tmp_path: Path) -> Config:
    return parse_config(tomllib.loads(text), {}, "whisperer.toml", tmp_path)


def test_a_kpi_and_a_rebate_share_one_followed_threshold(tmp_path: Path) -> None:
    config = load(
        SOURCES
        + KPI_TOML
        + """
[[rebates]]
id = "cross-cloud"
min_metrics = { cloud_growth = { follow = "renewal" } }
claim_closes = 2027-01-15
""",
        tmp_path,
    )
    kpi = config.knowledge.renewal.kpis[0]
    rebate = config.knowledge.rebates[0]
    assert kpi.follow == FOLLOW and rebate.follow_of("cloud_growth") == FOLLOW
    assert rebate.min_metrics == (("cloud_growth", 25.0),)  # the KPI's number is the fallback for both
    assert [(f.what, f.fallback, f.follow) for f in followers(config)] == [
        ("kpi", 25.0, FOLLOW),
        ("rebate", 25.0, FOLLOW),
    ]
    assert tracked_dates(config) == (("The renewal falls", date(2027, 3, 31)), ("Claims close", date(2027, 1, 15)))


@pytest.mark.parametrize(
    ("extra", "where", "problem"),
    [
        (
            KPI_TOML.replace('source = "cross-cloud-policy"', 'source = "nope"'),
            "renewal.kpis[0].follow.source",
            "no source has id 'nope'",
        ),
        (KPI_TOML.replace("(\\d+)", "\\d+"), "renewal.kpis[0].follow.pattern", "has no group"),
        (KPI_TOML.replace("(\\d+)", "(\\d+"), "renewal.kpis[0].follow.pattern", "not a regular expression"),
        (
            '[[rebates]]\nid = "x"\nmin_metrics = { cloud_growth = { follow = "renewal" } }\n',
            "rebates[0].min_metrics.cloud_growth.follow",
            "no [[renewal.kpis]] entry on metric 'cloud_growth' has a follow",
        ),
        (
            '[[rebates]]\nid = "x"\nmin_metrics = { cloud_growth = { follow = "later" } }\n',
            "rebates[0].min_metrics.cloud_growth.follow",
            'expected a table or "renewal"',
        ),
        (
            '[[rebates]]\nid = "x"\nmin_metrics = { cloud_growth = { follow = '
            '{ source = "cross-cloud-policy", pattern = "(\\\\d+)%" } } }\n',
            "rebates[0].min_metrics.cloud_growth.value",
            "needs a number to use until the page is read",
        ),
    ],
)
def test_follow_errors_name_the_key_and_the_fix(tmp_path: Path, extra: str, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(SOURCES + extra, tmp_path)
    assert f"whisperer.toml: {where}" in str(caught.value)
    assert problem in str(caught.value)


def test_gloss_terms_take_the_glossarys_chinese_names_and_the_configuration_wins(tmp_path: Path) -> None:
    from bot.process.meaning import gloss_terms

    config = load(SOURCES + '[glossary]\nterms = { "对象存储服务" = "OBS, our object store" }\n', tmp_path)
    terms = term_list(gloss_terms(config))
    assert terms["弹性云服务器"] == "Elastic Cloud Server"  # from the bundled glossary
    assert terms["对象存储服务"] == "OBS, our object store"
