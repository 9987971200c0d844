"""Tests for ``pagetag clean`` and the CLI frame (exit codes, one-line errors, JSON lines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import __version__
from pipeline.cli import COMMANDS, Command, main
from pipeline.clean import STAT_KEYS

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
LUPUS = str(DATA / "lupus_fr.html")
HEART = str(DATA / "heart_en.txt")


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pagetag {__version__}"
    assert main(["--help"]) == 0
    assert "clean" in capsys.readouterr().out
    assert main(["clean", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "examples:" in help_text and "pagetag clean page.html notes.txt --json" in help_text


@pytest.mark.parametrize("argv", [[], ["clean"], ["nope"], ["clean", "--timeout", "-1", HEART], ["clean", "--max-bytes", "x", HEART]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_registry_lets_other_commands_plug_in(monkeypatch, capsys):
    import pipeline.cli

    def add_arguments(parser):
        parser.add_argument("word")

    def run(args):
        print(args.word.upper())
        return 0

    echo = Command(name="echo", help="print a word in capitals", examples="examples:\n  pagetag echo hi\n",
                   add_arguments=add_arguments, run=run)
    monkeypatch.setattr(pipeline.cli, "COMMANDS", [*COMMANDS, echo])
    assert main(["echo", "hi"]) == 0
    assert capsys.readouterr().out == "HI\n"
    assert main(["echo", "--help"]) == 0
    assert "pagetag echo hi" in capsys.readouterr().out


def test_clean_prints_header_and_text(capsys):
    assert main(["clean", LUPUS, HEART]) == 0
    out = capsys.readouterr().out
    assert f"==> {LUPUS} <==" in out and f"==> {HEART} <==" in out
    assert "language: fr" in out and "language: en" in out
    assert "Une étude de phase 3 doit commencer" in out
    assert "Grippe aviaire" not in out


def test_clean_json_lines_with_one_failed_input(tmp_path, capsys):
    missing = str(tmp_path / "missing.html")
    assert main(["clean", LUPUS, missing, HEART, "--json"]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [record["input"] for record in records] == [LUPUS, missing, HEART]
    good = records[0]
    assert set(good) == {"input", "title", "language", "text", "removed", "stats", "warnings"}
    assert set(good["stats"]) == set(STAT_KEYS)
    assert {"text", "reason"} <= set(good["removed"][0])
    assert records[1] == {"input": missing, "error": "no such file"}
    assert captured.err == ""


def test_bad_inputs_give_one_line_each_and_exit_1(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.html"
    binary.write_bytes(b"\x00\x01\x02" * 50)
    inputs = [str(tmp_path / "missing.html"), str(empty), str(binary), str(tmp_path), "http://", str(DATA / "no_main_text.html")]
    assert main(["clean", *inputs]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == len(inputs)
    for line, source in zip(lines, inputs):
        assert line.startswith(f"pagetag: error: {source}: ")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_unexpected_exception_in_one_input_does_not_lose_the_batch(monkeypatch, capsys):
    import pipeline.clean

    real_clean_page = pipeline.clean.clean_page

    def flaky(page, **kwargs):
        if page.input == HEART:
            raise RuntimeError("boom\nsecond line")
        return real_clean_page(page, **kwargs)

    monkeypatch.setattr(pipeline.clean, "clean_page", flaky)  # seen by the threads engine (this process)
    assert main(["clean", HEART, LUPUS, "--json", "--engine", "threads"]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0] == {"input": HEART, "error": "unexpected RuntimeError: boom second line"}
    assert records[1]["language"] == "fr"


def test_unreachable_url_exit_1(capsys):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["clean", f"http://127.0.0.1:{port}/x.html", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "connection refused" in err


def test_python_m_pipeline_clean_subprocess(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "clean", str(tmp_path / "missing.html"), "-"],
        input="Regular exercise lowers blood pressure in most adults.\nShare this article\n".encode(),
        capture_output=True, cwd=ROOT, env=env, timeout=60,
    )
    assert completed.returncode == 1
    err = completed.stderr.decode()
    assert err == f"pagetag: error: {tmp_path / 'missing.html'}: no such file\n"
    out = completed.stdout.decode()
    assert "Regular exercise lowers blood pressure in most adults." in out
    assert "Share this article" not in out
