"""Tests for the batch runner (pipeline/classify.py): bad inputs, output records, engines, explanations.

Every page here is written for the tests; the Predictor (committed model) is loaded once per session.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import socket
from pathlib import Path

import pytest
from local_server import serve_routes

from pipeline.classify import (classify_inputs, example_inputs, json_record, read_and_clean, read_input_list,
                               split_sentences, table_row, weighty_sentences)
from pipeline.errors import PagetagError
from pipeline.labels import HEADS, LABELS
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

MODEL_DIR = Path(os.environ.get("PAGETAG_TEST_MODEL_DIR", DEFAULT_MODEL_DIR))

ARTICLE_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Daily walking lowers blood pressure in older adults, study finds</title></head><body>
<nav><a href="/">Home</a> <a href="/health">Health</a></nav>
<article><h1>Daily walking lowers blood pressure in older adults, study finds</h1>
<p>Older adults who walked for thirty minutes a day had lower blood pressure after six months than those who
did not change their habits, according to a study presented on Monday at a cardiology meeting in Boston.</p>
<p>Read also: Five simple ways to sleep better this winter</p>
<p>The researchers followed 1,200 people aged 65 and over for two years. Walkers were also less likely to be
admitted to hospital for heart failure, although the study could not prove that walking itself was the cause.</p>
<p>"Even a short walk after lunch seems to help the heart," said the lead researcher, a cardiologist at a
university hospital. Doctors advise people with high blood pressure to talk to their physician before starting
a new exercise programme.</p></article>
<footer>Share on Facebook | Twitter | Email</footer></body></html>"""

NOTES_TEXT = ("Vitamin D supplements are often taken in winter. A balanced diet, time outdoors and regular "
              "exercise remain the basis of good bone health, and people with osteoporosis should follow the "
              "advice of their doctor about calcium and vitamin D.")

FINNISH_TEXT = ("Terveyden ja hyvinvoinnin laitos suosittelee, että kaikki yli kuusikymmentäviisivuotiaat ottavat "
                "kausi-influenssarokotteen ennen joulukuuta. Rokote on maksuton, ja sen saa omalta terveysasemalta "
                "ilman ajanvarausta arkipäivisin.")

NAV_ONLY_HTML = ("<html><head><title>Menu</title></head><body><nav><ul>"
                 + "".join(f'<li><a href="/s{i}">Section {i}</a></li>' for i in range(8))
                 + "</ul></nav></body></html>")


def _routes() -> dict:
    return {
        "/article.html": (200, {"Content-Type": "text/html; charset=utf-8"}, ARTICLE_HTML.encode()),
        "/missing.html": (404, {"Content-Type": "text/html"}, b"<p>not found</p>"),
        "/error.html": (500, {"Content-Type": "text/html"}, b"<p>server error</p>"),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/paper.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7\n%binary"),
        "/photo.jpg": (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff\xe0JFIF"),
        "/data.json": (200, {"Content-Type": "application/json"}, b'{"health": true}'),
        "/empty.html": (200, {"Content-Type": "text/html"}, b""),
        "/nav-only.html": (200, {"Content-Type": "text/html"}, NAV_ONLY_HTML.encode()),
        "/bomb.html": (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                       gzip.compress(b"<p>" + b"a" * 2_000_000)),
    }


@pytest.fixture(scope="module")
def server():
    with serve_routes(_routes(), default=(200, {"Content-Type": "text/html"}, ARTICLE_HTML.encode())) as url:
        yield url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Local test inputs by name (good and bad)."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "article.html").write_text(ARTICLE_HTML, encoding="utf-8")
    (root / "notes.txt").write_text(NOTES_TEXT, encoding="utf-8")
    (root / "finnish.txt").write_text(FINNISH_TEXT, encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.dat").write_bytes(bytes(range(256)) * 40)
    (root / "huge.html").write_bytes(b"<html><body>" + b"<p>blood pressure</p>" * 10_000 + b"</body></html>")
    (root / "nav-only.html").write_text(NAV_ONLY_HTML, encoding="utf-8")
    (root / "a-directory").mkdir()
    mixed = ("<html><head><title>Sant\u00e9</title></head><body><article><p>"
             + "La fi\u00e8vre est un sympt\u00f4me fr\u00e9quent chez l'enfant, et la plupart du temps elle "
               "n'est pas grave. " * 3).encode("utf-8")
    mixed += ("Les m\u00e9decins conseillent de bien faire boire l'enfant et de consulter si la fi\u00e8vre dure "
              "plus de trois jours.</p></article></body></html>").encode("latin-1")
    (root / "mixed-encoding.html").write_bytes(mixed)
    return {path.name: str(path) for path in root.iterdir()}


@pytest.fixture(scope="session")
def predictor() -> Predictor:
    if not (MODEL_DIR / "pagetag.joblib").is_file():
        pytest.skip(f"no trained model at {MODEL_DIR}")
    return Predictor(MODEL_DIR)


def _bad_inputs(server: str, files: dict[str, str]) -> dict[str, tuple[str, str]]:
    """name -> (input, a fragment of its one-line error)."""
    return {
        "closed port": (f"http://127.0.0.1:{_closed_port()}/page.html", "connection refused"),
        "unknown host": ("http://no-such-host.invalid/page.html", "unknown host"),
        "timeout": (f"{server}/slow", "timed out"),
        "redirect loop": (f"{server}/loop", "redirect"),
        "HTTP 404": (f"{server}/missing.html", "HTTP 404"),
        "HTTP 500": (f"{server}/error.html", "HTTP 500"),
        "PDF": (f"{server}/paper.pdf", "application/pdf"),
        "image": (f"{server}/photo.jpg", "image/jpeg"),
        "JSON": (f"{server}/data.json", "application/json"),
        "empty page": (f"{server}/empty.html", "empty"),
        "page without main text": (f"{server}/nav-only.html", "no main text"),
        "file without main text": (files["nav-only.html"], "no main text"),
        "gzip bomb": (f"{server}/bomb.html", "decompresses to more than"),
        "binary file": (files["binary.dat"], "binary"),
        "empty file": (files["empty.txt"], "empty"),
        "file over the cap": (files["huge.html"], "too large"),
        "directory": (files["a-directory"], "directory"),
        "missing file": (files["article.html"] + ".gone", "no such file"),
    }


BAD_CASES = ["closed port", "unknown host", "timeout", "redirect loop", "HTTP 404", "HTTP 500", "PDF", "image",
             "JSON", "empty page", "page without main text", "file without main text", "gzip bomb", "binary file",
             "empty file", "file over the cap", "directory", "missing file"]
READ_OPTIONS = {"timeout": 0.5, "max_bytes": 100_000}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_gives_one_line_error(case, server, files):
    source, fragment = _bad_inputs(server, files)[case]
    outcome = read_and_clean(source, **READ_OPTIONS)
    assert outcome.page is None
    assert fragment in outcome.error
    assert "\n" not in outcome.error and "Traceback" not in outcome.error


def test_mixed_encodings_give_readable_text(files):
    outcome = read_and_clean(files["mixed-encoding.html"], **READ_OPTIONS)
    assert outcome.error is None
    assert outcome.page.language == "fr"
    assert "fièvre" in outcome.page.text and "symptôme" in outcome.page.text and "médecins" in outcome.page.text


def test_batch_keeps_order_and_completes_good_inputs_around_failures(predictor, server, files):
    bad = _bad_inputs(server, files)
    good = [files["article.html"], f"{server}/article.html", files["notes.txt"], files["mixed-encoding.html"]]
    sources = [good[0], *(bad[case][0] for case in BAD_CASES[:9]), good[1], files["finnish.txt"],
               *(bad[case][0] for case in BAD_CASES[9:]), good[2], good[3]]
    outcomes = list(classify_inputs(predictor, sources, workers=4, **READ_OPTIONS))
    assert [o.input for o in outcomes] == sources
    by_input = {o.input: o for o in outcomes}
    for source in good:
        record = json_record(by_input[source])
        assert record["error"] is None
        for head in HEADS:
            assert record["labels"][head]["label"] in LABELS[head]
            assert sum(record["labels"][head]["scores"].values()) == pytest.approx(1.0, abs=1e-3)
    for case in BAD_CASES:
        source, fragment = bad[case]
        assert json_record(by_input[source]) == {"input": source, "error": by_input[source].error}
        assert fragment in by_input[source].error
    finnish = json_record(by_input[files["finnish.txt"]])
    assert finnish["language"] == "fi" and finnish["error"] is None
    assert finnish["warnings"] == ["language fi not covered by the embedder"]


def test_a_page_whose_language_is_not_identified_is_classified_with_a_warning(predictor, tmp_path):
    path = tmp_path / "doses.txt"
    path.write_text("5 mg, 10 mg, 20 mg: 3 x 1", encoding="utf-8")
    (outcome,) = classify_inputs(predictor, [str(path)], engine="threads")
    assert outcome.page.language == "und" and outcome.prediction is not None
    assert outcome.warnings == ["language could not be identified"]


def test_strict_language_refuses_uncovered_languages(predictor, files):
    (outcome,) = classify_inputs(predictor, [files["finnish.txt"]], engine="threads", strict_language=True)
    assert outcome.error.startswith("language 'fi' is not supported") and files["finnish.txt"] not in outcome.error


def test_json_record_has_exactly_the_documented_fields(predictor, files):
    (outcome,) = classify_inputs(predictor, [files["article.html"]])
    record = json_record(outcome)
    assert list(record) == ["input", "title", "language", "labels", "evidence_cues", "claims", "flags", "removed",
                            "warnings", "error"]
    assert record["warnings"] == []
    assert record["input"] == files["article.html"]
    assert record["title"] == "Daily walking lowers blood pressure in older adults, study finds"
    assert record["language"] == "en"
    assert isinstance(record["removed"], int) and record["removed"] >= 1  # the "Read also" teaser
    assert isinstance(record["evidence_cues"], list)
    for head in HEADS:
        assert set(record["labels"][head]) == {"label", "score", "scores"}
        assert record["labels"][head]["score"] == max(record["labels"][head]["scores"].values())
    assert table_row(outcome).split()[1] == "en"
    long_input = dataclasses.replace(outcome, input="/data/crawl/2026/11/23/health/walking-blood-pressure.html")
    assert table_row(long_input).split()[0] == "…/walking-blood-pressure.html"


def test_explain_gives_removed_blocks_and_weighty_sentences(predictor):
    lupus = next(s for s in example_inputs() if s.endswith("lupus_trial_fr.html"))
    (outcome,) = classify_inputs(predictor, [lupus], explain=True)
    record = json_record(outcome)
    reasons = {item["reason"] for item in record["explain"]["removed"]}
    assert {"teaser", "trailing_links"} <= reasons
    assert "phase_1" in record["evidence_cues"]
    sentences = split_sentences(outcome.page.text)
    for head in HEADS:
        top = record["explain"]["sentences"][head]
        assert 1 <= len(top) <= 3
        assert all(item["text"] in sentences for item in top)
        assert [item["score"] for item in top] == sorted((item["score"] for item in top), reverse=True)
    assert not any("Ligue 1" in item["text"] for head in HEADS for item in record["explain"]["sentences"][head])


def test_split_sentences_rejoins_hard_wrapped_lines():
    text = ("Heading without a full stop\nThe trial enrolled 40 adults with\nasthma in two cities. "
            "It lasted a year.\nShort.")
    assert split_sentences(text) == ["Heading without a full stop",
                                     "The trial enrolled 40 adults with asthma in two cities.", "It lasted a year."]


def test_weighty_sentences_of_a_page_without_long_sentences(predictor, files):
    (outcome,) = classify_inputs(predictor, [files["notes.txt"]])
    outcome.page.text = "Short line.\nAnother one."
    assert weighty_sentences(predictor, [outcome]) == [{head: [] for head in HEADS}]


def test_engines_give_the_same_records(predictor, files):
    sources = [files["article.html"], files["empty.txt"], files["notes.txt"]]
    via_processes = [json_record(o) for o in classify_inputs(predictor, sources, engine="process", workers=2)]
    via_threads = [json_record(o) for o in classify_inputs(predictor, sources, engine="threads", workers=2)]
    assert via_processes == via_threads
    assert via_processes[1] == {"input": files["empty.txt"], "error": "file is empty"}


def test_examples_and_input_lists(tmp_path):
    names = [Path(s).name for s in example_inputs()]
    expected = json.loads((Path(example_inputs()[0]).parent / "expected.json").read_text(encoding="utf-8"))
    assert names == sorted(expected) and len(names) == 8  # every built-in example has its expected labels
    listing = tmp_path / "inputs.txt"
    listing.write_bytes(b"# my pages\n  https://example.org/a.html \r\n\n   \nmy page .html\r\n caf\xe9.html\n")
    assert list(read_input_list(str(listing))) == ["https://example.org/a.html", "my page .html", " caf\udce9.html"]
    with pytest.raises(PagetagError, match="cannot read input list"):
        read_input_list(str(tmp_path / "absent.txt"))
