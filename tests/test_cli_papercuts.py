"""The papercuts a newcomer hit on the command line, one test each, against real files (and a real process
where the papercut is about the process: a closed pipe, `.env` files, terminal mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FixtureServer, Response

from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.cli.main import main
from bot.cli.terminal import answer_lines

HUGE = "99999999999999999999"  # past SQLite's largest INTEGER


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WHISPERER_DB", "WHISPERER_CONFIG", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "whisperer.toml"
    path.write_text('[bot]\ndatabase = "whisperer.db"\nalerts_channel = "C0ALERTS"\n', encoding="utf-8")
    return path


def run(config: Path, *argv: str) -> int:
    return main(["--config", str(config), *argv])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WHISPERER_"))}
    return {**env, **extra}


def whisperer(*argv: str, cwd: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=cwd,
        env=clean_env(**env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (f"diff {HUGE}", f"'{HUGE}' is not a change number"),
        (f"cert remove {HUGE}", "Which certification? Give its number"),
        (f"deadline remove {HUGE}", "Which deadline? Give its number"),
        ("diff ²", "'²' is not a change number"),  # a digit to str.isdigit, not to int()
    ],
)
def test_numbers_too_big_for_the_database_are_usage_errors(
    config: Path, capsys: pytest.CaptureFixture[str], line: str, problem: str
) -> None:
    assert run(config, "ask", line) == EXIT_USAGE
    captured = capsys.readouterr()
    assert problem in captured.out and "Traceback" not in captured.err


def test_terminal_mode_survives_a_bad_line_and_a_failing_answer(config: Path) -> None:
    out: list[str] = []
    from bot.config.loading import load_config
    from bot.process.runtime import open_runtime
    from bot.process.scheduler import real_now

    runtime = open_runtime(load_config(config, env={}), real_now())
    try:
        lines = [f"diff {HUGE}", "help", "quit"]
        assert answer_lines(lines, lambda: runtime, real_now, out.append) is False  # reached `quit`
    finally:
        runtime.close()
    assert f"'{HUGE}' is not a change number" in out[0]
    assert "/whisperer changes" in out[1]  # the next line was answered


def test_terminal_mode_run_answers_after_an_overflowing_number(config: Path) -> None:
    done = whisperer("--config", str(config), "run", cwd=config.parent, stdin=f"diff {HUGE}\nsources\nquit\n")
    assert done.returncode == EXIT_OK, done.stderr
    assert f"'{HUGE}' is not a change number" in done.stdout
    assert "Sources" in done.stdout and "Traceback" not in done.stderr


def test_a_closed_pipe_is_not_a_traceback(config: Path) -> None:
    assert run(config, "ask", "deadline add 2099-01-15 Renew the partner agreement") == EXIT_OK
    reader = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "ask", "deadlines 3660"],
        cwd=config.parent,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # `| head -0`: the reader is gone before a byte is written
    with reader.stderr:
        err = reader.stderr.read()
    assert reader.wait(timeout=60) == EXIT_OK
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_a_directory_as_config_is_a_usage_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config.parent), "changes"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "is a directory, not a config file" in err and "whisperer.toml" in err


def test_share_is_understood_by_ask(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "ask", "changes policy share") == EXIT_OK
    assert "Latest changes (policy)" in capsys.readouterr().out


def test_dealreg_refuses_an_impossible_time(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "ask", "dealreg 2026-12-20 25:99 Foo") == EXIT_USAGE
    assert "'25:99' is not a time of day" in capsys.readouterr().out
    run(config, "ask", "deadlines 3660")
    assert "25:99" not in capsys.readouterr().out  # and no deal registration was stored for "25:99 Foo"


def test_cert_add_refuses_an_unbalanced_quote(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "ask", "cert add 'Budi HCIA 2024-01-01 email=budi@acme.example") == EXIT_USAGE
    assert "quote that is never closed" in capsys.readouterr().out
    run(config, "ask", "people")
    assert "Nobody yet" in capsys.readouterr().out
    # An apostrophe inside a word is a letter, not a quote.
    assert run(config, "ask", "cert add O'Brien HCIA-Cloud 2024-01-01 email=sean@acme.example") == EXIT_OK
    assert "O'Brien — HCIA-Cloud" in capsys.readouterr().out


def test_cert_add_refuses_a_misspelt_name_with_a_suggestion(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "ask", 'cert add "Budi Santoso" HCIA-Cloud 2024-01-01 email=budi@acme.example') == EXIT_OK
    capsys.readouterr()
    assert run(config, "ask", 'cert add "Budi Santso" HCIA-AI 2024-03-01') == EXIT_USAGE
    out = capsys.readouterr().out
    assert "I don't know anyone called 'Budi Santso'. Did you mean 'Budi Santoso'?" in out
    assert "email=" in out  # the way to add someone new
    run(config, "ask", "people")
    people = capsys.readouterr().out
    assert "Budi Santoso" in people and "Santso" not in people
    assert run(config, "ask", 'cert add "Budi Santoso" HCIA-AI 2024-03-01') == EXIT_OK  # the right name works


def test_a_passed_date_in_the_future_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "ask", "cert add ana@acme.example HCIA-Cloud 2030-01-01") == EXIT_USAGE
    assert "Passed 2030-01-01 is in the future" in capsys.readouterr().out
    csv = config.parent / "certs.csv"
    csv.write_text("name,certification,passed\nAna,HCIA-Cloud,2030-01-01\nBudi,HCIA-AI,2024-01-01\n", encoding="utf-8")
    assert run(config, "certs", "import", str(csv)) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "line 2: passed 2030-01-01 is in the future" in out and "Imported 1 certification" in out


def test_csv_import_names_the_columns_it_ignored(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = config.parent / "certs.csv"
    csv.write_text("name,certification,passed,emial,notes\nAna,HCIA-Cloud,2024-01-01,ana@x.example,hi\n")
    assert run(config, "certs", "import", str(csv)) == EXIT_OK
    out = capsys.readouterr().out
    assert "Ignored columns 'emial', 'notes'" in out and "Imported 1 certification" in out


def test_doctor_fails_when_every_source_fails(
    config: Path, server: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/a"] = Response(500, b"down")
    server.routes["/b"] = Response(503, b"down")
    sources = "".join(
        f'\n[[sources]]\nid = "{name}"\nkind = "html"\nurl = "{server.url("/" + name)}"\nevery = "1h"\n'
        for name in "ab"
    )
    config.write_text(config.read_text() + sources, encoding="utf-8")
    assert run(config, "poll") == EXIT_FAILED  # nothing could be polled: the work failed
    capsys.readouterr()
    assert run(config, "doctor") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "every active source is failing" in out and "All good" not in out


def test_doctor_fails_when_alerts_can_reach_nobody(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text('[bot]\ndatabase = "whisperer.db"\n', encoding="utf-8")
    assert run(config, "doctor") == EXIT_FAILED
    out = capsys.readouterr().out
    assert "change alerts can reach nobody" in out and "alerts_channel" in out


def test_doctor_without_a_config_creates_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WHISPERER_DB", raising=False)
    monkeypatch.delenv("WHISPERER_CONFIG", raising=False)
    assert main(["doctor"]) == EXIT_FAILED
    assert list(tmp_path.iterdir()) == []


def test_env_is_read_beside_the_config_first_then_the_current_directory(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "whisperer.toml").write_text(
        '[bot]\ndatabase = "whisperer.db"\nalerts_channel = "C0ALERTS"\n\n[[sources]]\nid = "portal"\nkind = "html"\n'
        'url = "https://portal.example/x"\nheaders = { Cookie = "${PORTAL_COOKIE}" }\n',
        encoding="utf-8",
    )
    (folder / ".env").write_text("WHISPERER_DB=beside.db\n", encoding="utf-8")
    (tmp_path / ".env").write_text("WHISPERER_DB=cwd.db\nPORTAL_COOKIE=session=1\n", encoding="utf-8")
    done = whisperer("--config", "conf/whisperer.toml", "doctor", cwd=tmp_path)
    assert "beside.db" in done.stdout and "cwd.db" not in done.stdout, done.stdout + done.stderr
    assert "PORTAL_COOKIE" not in done.stdout + done.stderr  # the current directory's .env filled the gap


def test_port_without_http_is_a_usage_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "run", "--port", "8080") == EXIT_USAGE
    assert "--port only applies to HTTP mode; add --http" in capsys.readouterr().err


def test_one_exit_status_scheme(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert run(config, "ask", "chnages") == EXIT_USAGE
    assert run(config, "changes", "--since", "banana") == EXIT_USAGE
    assert run(config, "ask", "help", "--as-of", "someday") == EXIT_USAGE
    assert run(config, "poll", "--source", "nope") == EXIT_USAGE
    with pytest.raises(SystemExit) as argparse_exit:
        main(["diff"])
    assert argparse_exit.value.code == EXIT_USAGE
