"""Turns at the processor for the answer pool: one answer computes at a time, in order of arrival; a wait for
Slack lends the turn. These tests hold each thread on an event and assert who computed when, never how long
anything took (bench/command_latency.py measures the effect on the acks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.slack.answers import AnswerPool
from bot.slack.turns import Turns

WAIT = 60.0  # a guard for threads the test holds, never an assertion
LONG = 3600.0  # a lend or a patience that never runs out while a test runs


def until(predicate: Callable[[], bool]) -> None:
    """Block until predicate() holds (a thread reached the state the test waits for); bounded."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting for the threads"
        time.sleep(0.001)


def start(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_one_thread_computes_at_a_time_and_the_line_is_served_in_order() -> None:
    turns = Turns(lend_after=LONG, patience=LONG)
    events: list[str] = []

    def answer(name: str) -> Callable[[], None]:
        def run() -> None:
            events.append(f"{name} has it" if turns.take() else f"{name} gave up")
            turns.give()

        return run

    assert turns.take()  # this thread computes
    second = start(answer("second"))
    until(lambda: turns.waiting == 1)
    third = start(answer("third"))
    until(lambda: turns.waiting == 2)
    assert events == []  # both wait for the turn while this thread has it
    turns.give()
    second.join(WAIT)
    third.join(WAIT)
    assert events == ["second has it", "third has it"]
    assert turns.take()  # free again


def test_a_wait_keeps_the_turn_until_it_is_long_enough_to_lend() -> None:
    kept = Turns(lend_after=LONG, patience=LONG)
    assert kept.take() and kept.lend()
    events: list[str] = []
    other = start(lambda: events.append(f"other has it: {kept.take()}"))
    until(lambda: kept.waiting == 1)
    assert kept.take()  # back from a short wait: still this thread's turn
    assert events == []
    kept.give()
    other.join(WAIT)
    assert events == ["other has it: True"]

    lent = Turns(lend_after=0, patience=LONG)  # every wait is a long one
    events.clear()
    in_line, slack_answers, done = threading.Event(), threading.Event(), threading.Event()

    def lender() -> None:
        events.append(f"lender has it: {lent.take()}")
        in_line.wait(WAIT)
        events.append("lender waits for Slack")
        assert lent.lend()
        slack_answers.wait(WAIT)
        events.append(f"lender back: {lent.take()}")
        lent.give()

    def other() -> None:
        events.append(f"other has it: {lent.take()}")
        done.wait(WAIT)
        lent.give()

    first = start(lender)
    until(lambda: events == ["lender has it: True"])
    second = start(other)
    until(lambda: lent.waiting == 1)
    in_line.set()  # the lender now waits for Slack: the next in line computes meanwhile
    until(lambda: len(events) == 3)
    assert events[1:] == ["lender waits for Slack", "other has it: True"]
    slack_answers.set()
    until(lambda: lent.waiting == 1)  # back from Slack, the lender lines up behind it
    assert len(events) == 3
    done.set()
    first.join(WAIT)
    second.join(WAIT)
    assert events[-1] == "lender back: True"


def test_a_thread_out_of_patience_computes_without_the_turn() -> None:
    turns = Turns(lend_after=LONG, patience=0)
    assert turns.take()
    results: list[bool] = []

    def impatient() -> None:
        results.append(turns.take())
        turns.give()  # it never had the turn: nothing to give
        results.append(turns.lend())

    start(impatient).join(WAIT)
    assert results == [False, False] and turns.waiting == 0
    taken: list[bool] = []
    start(lambda: taken.append(turns.take())).join(WAIT)
    assert taken == [False]  # still this thread's turn
    turns.give()


def test_the_answer_pool_runs_one_answer_at_a_time_except_while_it_waits_for_slack() -> None:
    pool = AnswerPool(threads=4, turns=Turns(lend_after=0, patience=LONG))
    events: list[str] = []
    slack_answers = threading.Event()
    computing = threading.Event()

    def first() -> None:
        events.append("first computes")
        computing.wait(WAIT)
        events.append("first waits for Slack")
        with pool.waiting():
            slack_answers.wait(WAIT)
        events.append("first computes again")

    def second() -> None:
        events.append("second computes")

    try:
        assert pool.submit(first)
        until(lambda: events == ["first computes"])
        assert pool.submit(second)
        until(lambda: pool.turns.waiting == 1)
        assert events == ["first computes"]  # the second is in line, not computing beside the first
        computing.set()
        until(lambda: "second computes" in events)
        assert events == ["first computes", "first waits for Slack", "second computes"]
        slack_answers.set()
        until(lambda: len(events) == 4)
        assert events[-1] == "first computes again"
    finally:
        computing.set()
        slack_answers.set()
        pool.shutdown()
