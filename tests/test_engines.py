"""The engines (pipeline/engines.py): crash isolation, deadlines, bounded look-ahead, streaming, Ctrl-C, dask.

Misbehaving inputs come from ``engine_faults.faulty_step``; servers run on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_faults import faulty_step
from local_server import dripping, serve_routes

import pipeline.predict
from pipeline.classify import classify_inputs, json_record
from pipeline.cli import main
from pipeline.engines import ProcessPool, ThreadPool, in_input_order, open_engine, run_engine
from pipeline.errors import PagetagError
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("PAGETAG_TEST_MODEL_DIR", DEFAULT_MODEL_DIR))
ARTICLE = ("<html><head><title>Sleep</title></head><body><article><h1>Sleep and the heart</h1><p>Adults who "
           "sleep less than six hours a night have a higher risk of high blood pressure, according to a large "
           "study published this week. The researchers followed 20,000 people for ten years.</p><p>Doctors "
           "recommend regular bedtimes and avoiding screens late in the evening.</p></article></body></html>")
NOTES = ("Les légumes secs sont riches en fibres et en protéines. Les nutritionnistes conseillent d'en manger "
         "deux fois par semaine, par exemple des lentilles ou des pois chiches, en remplacement de la viande.")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("pages")
    (root / "article.html").write_text(ARTICLE, encoding="utf-8")
    (root / "notes.txt").write_text(NOTES, encoding="utf-8")
    return {path.name: str(path) for path in root.iterdir()}


@pytest.fixture(scope="module")
def drip_server():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    with serve_routes({"/drip": dripping(head, ARTICLE.encode(), interval=0.2)}, default=(404, {}, b"")) as url:
        yield url


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    if not (MODEL_DIR / "pagetag.joblib").is_file():
        pytest.skip(f"no trained model at {MODEL_DIR}")
    return Predictor(MODEL_DIR)


def _run(pool, sources) -> tuple[list, float]:
    start = time.monotonic()
    with pool:
        outcomes = list(in_input_order(run_engine(pool, sources)))
    return outcomes, time.monotonic() - start


def test_process_pool_survives_crashes_hangs_and_memory_blowups(pages):
    good = [pages["article.html"], pages["notes.txt"]]
    sources = [good[0], "segfault", good[1], "hang", "memory", "exit", good[0], good[1]]
    outcomes, elapsed = _run(ProcessPool(2, timeout=1.5, max_bytes=1_000_000, step=faulty_step), sources)
    assert [o.input for o in outcomes] == sources
    errors = [o.error for o in outcomes]
    assert errors[0] is errors[2] is errors[6] is errors[7] is None
    assert errors[1] == "the worker process reading and cleaning this input crashed (killed by SIGSEGV); it was replaced"
    assert errors[3] == "timed out after 1.5 s"
    assert errors[4] == "out of memory while reading or cleaning this input"
    assert errors[5] == "the worker process reading and cleaning this input crashed (exit status 3); it was replaced"
    assert [o.page.language for o in outcomes if o.page] == ["en", "fr", "en", "fr"]
    assert elapsed < 15


def test_thread_pool_abandons_a_stuck_input(pages):
    sources = [pages["notes.txt"], "hang", pages["article.html"], "missing.html"]
    outcomes, elapsed = _run(ThreadPool(2, timeout=1.0, max_bytes=1_000_000, step=faulty_step), sources)
    assert [o.error for o in outcomes] == [None, "timed out after 1 s", None, "no such file"]
    assert elapsed < 5


@pytest.mark.parametrize("engine", ["process", "threads"])
def test_a_dripping_server_costs_one_input_its_deadline(engine, pages, drip_server):
    sources = [pages["notes.txt"], f"{drip_server}/drip", pages["article.html"]]
    outcomes, elapsed = _run(open_engine(engine, workers=2, timeout=1.0, max_bytes=1_000_000), sources)
    assert [o.error for o in outcomes] == [None, "timed out after 1 s", None]
    assert elapsed < 1.0 + 2 + 3  # the deadline + 2 s, and the workers' start-up


def test_look_ahead_is_bounded_by_the_window(pages):
    start, pulled = time.monotonic(), []

    def sources():
        yield f"sleep:1:{pages['notes.txt']}"
        for index in range(100):
            pulled.append(time.monotonic() - start)
            yield f"missing-{index}.html"

    with ThreadPool(2, timeout=5, max_bytes=1_000_000, step=faulty_step) as pool:
        outcomes = list(in_input_order(run_engine(pool, sources(), window=10)))
    assert len(outcomes) == 101 and outcomes[0].error is None
    assert sum(when < 0.9 for when in pulled) == 9  # while the first input sleeps, only the window is started
    assert pulled[9] >= 1.0


def test_lines_stream_while_a_slow_input_is_pending(predictor, pages, drip_server):
    sources = [pages["notes.txt"], f"{drip_server}/drip", pages["article.html"]]
    start, seen = time.monotonic(), []
    for outcome in classify_inputs(predictor, sources, engine="process", workers=2, timeout=2.5):
        seen.append((outcome.error, time.monotonic() - start))
    assert [error for error, _ in seen] == [None, "timed out after 2.5 s", None]
    assert seen[0][1] < seen[1][1] - 1.5  # the first line did not wait for the slow input
    assert seen[1][1] >= 2.5 and seen[2][1] - seen[1][1] < 1


def test_ctrl_c_stops_within_two_seconds_with_what_is_done(predictor, pages, drip_server):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pipeline", "classify", "--json", "--timeout", "60", "--model-dir",
               str(MODEL_DIR), pages["notes.txt"], f"{drip_server}/drip", pages["article.html"]]
    # a shell starts background jobs with SIGINT ignored, and Python keeps an inherited SIG_IGN: give the CLI
    # the default disposition a terminal's foreground job has, whatever launched pytest
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = process.stdout.readline()
        process.send_signal(signal.SIGINT)
        start = time.monotonic()
        rest, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - start
    finally:
        process.kill()
    assert json.loads(first)["input"] == pages["notes.txt"] and rest == b""
    assert process.returncode == 130 and elapsed < 2
    assert err.decode().strip().splitlines()[-1] == "pagetag: interrupted" and b"Traceback" not in err


def test_json_output_is_utf8_whatever_the_file_names(tmp_path, capsys):
    name = os.fsdecode(str(tmp_path).encode() + b"/caf\xe9 menu.txt")
    with open(os.fsencode(name), "w", encoding="utf-8") as handle:
        handle.write(NOTES)
    missing = os.fsdecode(str(tmp_path).encode() + b"/\xff\xfe.html")
    assert main(["clean", "--json", "--engine", "threads", name, missing]) == 1
    out = capsys.readouterr().out
    out.encode("utf-8")  # no lone surrogates left
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["input"] == f"{tmp_path}/caf\\xe9 menu.txt" and records[0]["language"] == "fr"
    assert records[1] == {"input": f"{tmp_path}/\\xff\\xfe.html", "error": "no such file"}


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(PagetagError, match="unknown engine 'spark'"):
        open_engine("spark", workers=1, timeout=1, max_bytes=1)


# --- dask ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_engine_gives_the_same_lines_in_order(predictor, pages, dask_scheduler, monkeypatch, capsys):
    monkeypatch.setattr(pipeline.predict, "Predictor", lambda *args, **kwargs: predictor)
    sources = [pages["article.html"], "missing.html", pages["notes.txt"], "", pages["notes.txt"] + ".gone"] * 3
    assert main(["classify", "--json", "--engine", "process", "--workers", "2", *sources]) == 1
    expected = capsys.readouterr().out.splitlines()
    assert main(["classify", "--json", "--engine", "dask", "--scheduler", dask_scheduler, *sources]) == 1
    assert capsys.readouterr().out.splitlines() == expected
    monkeypatch.setenv("PAGETAG_DASK_SCHEDULER", dask_scheduler)
    with open_engine("dask", workers=1, timeout=5, max_bytes=1_000_000) as engine:
        assert engine.capacity == 4  # two tasks per worker thread of the cluster named in the environment
        records = [json_record(o) for o in classify_inputs(predictor, sources[:3], engine=engine)]
    assert [json.dumps(r, ensure_ascii=False) for r in records] == expected[:3]
