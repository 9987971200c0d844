"""Tests for `pagetag classify` and `pagetag evaluate` (in-process, plus one cold-start subprocess).

The in-process tests reuse one Predictor for the whole session (patched into ``pipeline.predict``).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline.predict
from pipeline.cli import main
from pipeline.labels import HEADS, LABELS
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("PAGETAG_TEST_MODEL_DIR", DEFAULT_MODEL_DIR))

RCT_ABSTRACT = """Background: Whether a daily low-dose aspirin reduces the recurrence of migraine is unknown.
Methods: In this randomised, double-blind, placebo-controlled trial at 14 centres, 640 adults with episodic
migraine were randomly assigned (1:1) to aspirin 100 mg daily or matching placebo for 24 weeks. The primary
outcome was the change in monthly migraine days from baseline to weeks 13-24, analysed by intention to treat.
Results: The mean reduction in monthly migraine days was 3.1 with aspirin and 1.9 with placebo (difference 1.2
days; 95% CI 0.6 to 1.8; p<0.001). Serious adverse events occurred in 2% of participants in each group.
Conclusions: In adults with episodic migraine, daily low-dose aspirin modestly reduced migraine frequency
compared with placebo. (Funded by a national research council; trial registration number pending.)"""

FOOTBALL_DE = """Bayern gewinnt das Spitzenspiel in Dortmund mit 3:1

Der FC Bayern München hat das Spitzenspiel der Bundesliga bei Borussia Dortmund am Samstagabend mit 3:1
gewonnen und die Tabellenführung ausgebaut. Vor 81.000 Zuschauern im ausverkauften Stadion brachte Harry Kane
die Gäste bereits in der zwölften Minute per Kopfball in Führung.

Dortmund kam nach der Pause besser ins Spiel und glich durch einen Distanzschuss von Julian Brandt aus. Doch
nur zehn Minuten später stellte Jamal Musiala mit einem sehenswerten Solo die Führung wieder her, ehe Leroy
Sané in der Nachspielzeit den Endstand markierte.

"Wir haben heute als Mannschaft eine starke Reaktion gezeigt", sagte Bayern-Trainer Vincent Kompany nach dem
Spiel. Dortmunds Trainer zeigte sich enttäuscht: "Wir hatten unsere Chancen, aber vorne fehlte die
Konsequenz." Am nächsten Spieltag empfängt der FC Bayern den VfB Stuttgart, Dortmund muss nach Freiburg."""


@pytest.fixture(scope="session")
def session_predictor() -> Predictor:
    if not (MODEL_DIR / "pagetag.joblib").is_file():
        pytest.skip(f"no trained model at {MODEL_DIR}")
    return Predictor(MODEL_DIR)


@pytest.fixture
def predictor(session_predictor, monkeypatch) -> Predictor:
    """The session Predictor, also returned by ``Predictor(...)`` inside the CLI."""
    monkeypatch.setattr(pipeline.predict, "Predictor", lambda *args, **kwargs: session_predictor)
    return session_predictor


@pytest.fixture
def pages(tmp_path) -> dict[str, str]:
    (tmp_path / "rct.txt").write_text(RCT_ABSTRACT, encoding="utf-8")
    (tmp_path / "football.txt").write_text(FOOTBALL_DE, encoding="utf-8")
    (tmp_path / "empty.html").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    return {path.name: str(path) for path in tmp_path.iterdir()}


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/page.html"


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_batch_in_input_order_with_failures(predictor, pages, capsys):
    closed = _closed_port_url()
    sources = [pages["rct.txt"], pages["empty.html"], closed, pages["folder"], pages["football.txt"]]
    assert main(["classify", "--json", "--workers", "3", *sources]) == 1
    records = _json_lines(capsys.readouterr().out)
    assert [r["input"] for r in records] == sources
    assert records[1] == {"input": pages["empty.html"], "error": "file is empty"}
    assert records[2]["input"] == closed and "connection refused" in records[2]["error"]
    assert records[3] == {"input": pages["folder"], "error": "is a directory, expected a file"}
    for record in (records[0], records[4]):
        assert record["error"] is None and record["removed"] == 0 and record["title"] is None
        assert set(record["labels"]) == set(HEADS)
        assert all(record["labels"][h]["label"] in LABELS[h] for h in HEADS)


def test_table_output_reports_failures_on_stderr(predictor, pages, capsys):
    missing = pages["rct.txt"] + ".gone"
    assert main(["classify", pages["rct.txt"], missing, pages["football.txt"]]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:3] == ["INPUT", "LANG", "SOURCE"]
    assert [line.split()[1] for line in lines[1:]] == ["en", "de"]
    assert f"pagetag: error: {missing}: no such file" in captured.err.splitlines()
    assert "Traceback" not in captured.err


def test_no_input_classifies_the_examples(predictor, capsys):
    assert main(["classify"]) == 0
    captured = capsys.readouterr()
    assert "classifying the built-in examples" in captured.err
    rows = captured.out.splitlines()[1:]
    assert [row.split()[1] for row in rows] == ["en", "de", "de", "fr", "fr", "en", "fr", "fr"]


def test_explain_table_shows_cues_removed_lines_and_sentences(predictor, capsys):
    lupus = str(REPO / "pipeline" / "examples" / "lupus_trial_fr.html")
    assert main(["classify", "--explain", lupus]) == 0
    out = capsys.readouterr().out
    assert "evidence cues: " in out and "phase_1" in out
    assert "[trailing_links] Ligue 1 : Lyon renverse Marseille" in out
    for head in HEADS:
        assert f"why {head} = " in out


def test_from_file_and_stdin(predictor, pages, tmp_path, monkeypatch, capsys):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# pages\n{pages['football.txt']}\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(RCT_ABSTRACT.encode("utf-8"))))
    assert main(["classify", "--json", "-", "--from-file", str(listing)]) == 0
    assert [r["input"] for r in _json_lines(capsys.readouterr().out)] == ["-", pages["football.txt"]]
    listing.write_text("# nothing yet\n", encoding="utf-8")
    assert main(["classify", "--from-file", str(listing)]) == 1
    assert capsys.readouterr().err.strip() == f"pagetag: error: no inputs listed in {listing}"


def test_threads_engine_from_the_cli(predictor, pages, capsys):
    sources = [pages["rct.txt"], pages["football.txt"]]
    assert main(["classify", "--json", "--engine", "threads", "--workers", "2", *sources]) == 0
    assert [r["input"] for r in _json_lines(capsys.readouterr().out)] == sources


def _labels(pages: dict[str, str], name: str, capsys) -> dict:
    main(["classify", "--json", pages[name]])
    return {head: v["label"] for head, v in _json_lines(capsys.readouterr().out)[0]["labels"].items()}


def test_smoke_english_rct_abstract_is_scientific(predictor, pages, capsys):
    assert _labels(pages, "rct.txt", capsys)["source_type"] == "scientific"


def test_smoke_english_rct_abstract_is_neurology(predictor, pages, capsys):
    assert _labels(pages, "rct.txt", capsys)["topic"] == "neurology"


def test_smoke_english_rct_abstract_is_rct(predictor, pages, capsys):
    assert _labels(pages, "rct.txt", capsys)["evidence_level"] == "rct"


def test_smoke_german_football_report(predictor, pages, capsys):
    assert _labels(pages, "football.txt", capsys) == {
        "source_type": "news", "evidence_level": "not_applicable", "topic": "non_health"}


def test_missing_model_dir_is_one_line(tmp_path, capsys):
    assert main(["classify", "--model-dir", str(tmp_path), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pagetag: error: no trained model at") and err.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ["classify", "--workers", "0"],
    ["classify", "--engine", "spark"],
    ["classify", "--timeout", "-1"],
    ["classify", "--timeout", "inf"],
    ["classify", "--timeout", "nan"],
    ["classify", "--timeout", "1e300"],
    ["classify", "--max-bytes", "lots"],
    ["evaluate", "--bogus"],
])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: pagetag" in capsys.readouterr().err


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pagetag {pipeline.__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "classify" in out and "evaluate" in out
    for command in ("classify", "evaluate"):
        assert main([command, "--help"]) == 0
        assert "examples:" in capsys.readouterr().out


def test_evaluate_without_pipeline_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["evaluate", "--no-transfer"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data/clean" in err and "run `dvc repro` first" in err
    (tmp_path / "params.yaml").write_text("train: {}\n", encoding="utf-8")
    assert main(["evaluate"]) == 1
    assert "is not a pagetag params file" in capsys.readouterr().err
    assert main(["evaluate", "--params", "absent.yaml"]) == 1
    assert "cannot read absent.yaml" in capsys.readouterr().err


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from pipeline.cli import main; main(['--help']); main(['classify', '--help']); "
            "heavy = {'torch', 'sentence_transformers', 'sklearn', 'trafilatura'} & set(sys.modules); "
            "sys.exit(f'imported {sorted(heavy)}' if heavy else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_cold_start_subprocess(session_predictor, pages):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "pipeline", "classify", "--json", "--model-dir", str(MODEL_DIR),
                          pages["football.txt"]], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    (record,) = _json_lines(run.stdout)
    assert record["input"] == pages["football.txt"] and record["language"] == "de"
