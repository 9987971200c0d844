"""Fuzz the whole command: a few hundred generated inputs (fixed seed) through `pagetag classify --json`.

Files of random bytes, encodings, nesting and names, FIFOs, symlink loops, stdin, and URLs of a local
server that drips, truncates, redirects to ftp:, compresses badly... The run must keep the contract
(tests/fuzz_inputs.py): one valid JSON line per input, in order, valid UTF-8, no traceback, exit 0 or 1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzz_inputs import contract_violations, fault_routes, make_files, make_urls
from local_server import serve_routes

from pipeline.predict import DEFAULT_MODEL_DIR

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("PAGETAG_TEST_MODEL_DIR", DEFAULT_MODEL_DIR))
SEED = 20261124
TIMEOUT = 2.0


def test_generated_inputs_keep_the_contract(tmp_path):
    if not (MODEL_DIR / "pagetag.joblib").is_file():
        pytest.skip(f"no trained model at {MODEL_DIR}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    routes = fault_routes(SEED)
    with serve_routes(routes, default=(404, {}, b"")) as base:
        inputs = make_files(tmp_path / "files", 220, SEED) + make_urls(base, routes, 80, SEED, closed_port)
        inputs.insert(len(inputs) // 2, "-")
        listing = tmp_path / "inputs.txt"
        listing.write_bytes(b"".join(os.fsencode(name) + b"\n" for name in inputs))
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8:strict"}
        command = [sys.executable, "-m", "pipeline", "classify", "--json", "--timeout", str(TIMEOUT), "--workers",
                   "2", "--model-dir", str(MODEL_DIR), "--from-file", str(listing)]
        start = time.monotonic()
        run = subprocess.run(command, cwd=REPO, env=env, input=os.urandom(3000), capture_output=True, timeout=120)
        elapsed = time.monotonic() - start
    problems = contract_violations(inputs, run.stdout, run.stderr, run.returncode)
    assert problems == {"lost lines": 0, "misordered lines": 0, "invalid lines": 0, "tracebacks": 0,
                        "bad exit": 0}, run.stderr.decode(errors="replace")[-2000:]
    assert run.returncode == 1  # some inputs failed, as they should
    assert elapsed < 90
