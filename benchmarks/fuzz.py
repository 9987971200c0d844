"""Fuzz benchmark: does `pagetag classify --json` keep its contract under everything a crawler meets?

Each part runs `pagetag classify --json` subprocesses, reads stdout line by line with timestamps and samples
the peak memory of the whole process tree (CLI, fork server, workers):

1. generated files (tests/fuzz_inputs.py: random bytes, encodings, nesting, names, FIFOs, symlink loops),
   ``--files`` in runs of ``--chunk`` (one seed per run);
2. network faults: ``--faults`` URLs of a local server that drips, truncates, redirects to ftp:, ...;
3. a crawl: ``--urls`` URLs at ``--workers 8``, benchmark pages served locally, 1% on a dripping server;
4. one 50 MB page with ``--max-bytes 100000000`` (does it end within the deadline?);
5. the crash check: ``--repeats`` runs of the same 200-page batch (../shared/html_bench) per engine.

The contract (tests/fuzz_inputs.contract_violations): one valid JSON line per input, in order, valid
UTF-8, no traceback, exit status 0 or 1. A *hang* is a wait of more than the deadline + 2 s for the next
line (the first line may also take the start-up time, ``--startup`` s). Writes benchmarks/results/fuzz.md.

Usage: python benchmarks/fuzz.py [--files 20000] [--faults 150] [--urls 1000] [--repeats 50] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from benchmarks.extraction import command_line, publish  # noqa: E402
from benchmarks.memory import PeakMemory  # noqa: E402
from benchmarks.throughput import bench_pages  # noqa: E402
from fuzz_inputs import contract_violations, fault_routes, make_files, make_urls  # noqa: E402
from local_server import dripping, serve_routes  # noqa: E402

DEFAULT_OUT = REPO / "benchmarks" / "results" / "fuzz.md"
PROBLEMS = ("tracebacks", "hangs", "lost lines", "misordered lines", "invalid lines", "bad exit")


@dataclass
class Part:
    """Totals of one part over its runs."""

    name: str
    runs: int = 0
    inputs: int = 0
    problems: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROBLEMS, 0))
    peak_pss: float = 0.0
    peak_rss: float = 0.0
    seconds: float = 0.0
    longest_wait: float = 0.0
    errors: int = 0

    def add(self, inputs: list[str], run: dict) -> None:
        self.runs += 1
        self.inputs += len(inputs)
        self.errors += run["errors"]
        for key, value in run["problems"].items():
            self.problems[key] += value
        self.peak_pss, self.peak_rss = max(self.peak_pss, run["pss"]), max(self.peak_rss, run["rss"])
        self.seconds += run["seconds"]
        self.longest_wait = max(self.longest_wait, run["longest_wait"])


def classify_run(inputs: list[str], options: list[str], workdir: Path, *, timeout: float, startup: float,
                 stdin: bytes = b"") -> dict:
    """One `pagetag classify --json --from-file` run over ``inputs``: contract violations, hangs, memory, time."""
    listing = workdir / "inputs.txt"
    listing.write_bytes(b"".join(os.fsencode(name) + b"\n" for name in inputs))
    command = [sys.executable, "-m", "pipeline", "classify", "--json", "--timeout", str(timeout),
               "--from-file", str(listing), *options]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8:strict"}
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(process.stderr.read()), daemon=True)
    reader.start()
    process.stdin.write(stdin)
    process.stdin.close()
    lines, arrivals = [], [start]
    limit = start + startup + len(inputs) * (timeout + 2) + 60
    with PeakMemory(process.pid, interval=0.2) as memory:
        for line in process.stdout:
            lines.append(line)
            arrivals.append(time.monotonic())
            if arrivals[-1] > limit:
                break
        killed = process.poll() is None and arrivals[-1] > limit
        if killed:
            process.kill()
        process.wait()
    reader.join()
    seconds = time.monotonic() - start
    waits = [b - a for a, b in zip(arrivals, arrivals[1:])]
    if waits:
        waits[0] -= startup
    problems = contract_violations(inputs, b"".join(lines), b"".join(err), process.returncode)
    problems["hangs"] = sum(wait > timeout + 2 for wait in waits) + killed
    return {"problems": problems, "pss": memory.pss, "rss": memory.rss, "seconds": seconds,
            "longest_wait": max(waits, default=0.0), "errors": sum(b'"error": null' not in line for line in lines)}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args: argparse.Namespace) -> str:
    parts: list[Part] = []
    base_options = ["--workers", str(args.workers)]
    with tempfile.TemporaryDirectory(prefix="pagetag-fuzz-") as tmp:
        root = Path(tmp)
        # 1. generated files
        files = Part(f"generated files (runs of {args.chunk:,})")
        for seed in range(0, args.files, args.chunk):
            inputs = make_files(root / f"files-{seed}", min(args.chunk, args.files - seed), seed)
            inputs.insert(len(inputs) // 2, "-")
            files.add(inputs, classify_run(inputs, base_options, root, timeout=args.timeout, startup=args.startup,
                                           stdin=os.urandom(5000)))
            print(f"files {seed + args.chunk:,}: {files.problems}", file=sys.stderr)
        parts.append(files)
        # 2. network faults
        routes = fault_routes(args.seed)
        with serve_routes(routes, default=(404, {}, b"")) as base:
            faults = Part("network faults (local fault server)")
            inputs = make_urls(base, routes, args.faults, args.seed, closed_port())
            faults.add(inputs, classify_run(inputs, base_options, root, timeout=args.timeout, startup=args.startup))
            parts.append(faults)
        # 3. a crawl at --workers 8 with a dripping server among the hosts
        pages = {f"/{i}.html": (200, {"Content-Type": "text/html"}, gzip.decompress(path.read_bytes()))
                 for i, path in enumerate(bench_pages(200))}
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
        with serve_routes(pages, default=(404, {}, b"")) as site, \
                serve_routes({"/drip": dripping(head, b"<p>slow</p>" * 1000, interval=0.5, limit_seconds=120)},
                             default=(404, {}, b"")) as slow:
            crawl = Part(f"crawl: {args.urls:,} URLs, --workers 8, 1% on a dripping server")
            inputs = [f"{slow}/drip" if i % 100 == 50 else f"{site}/{i % len(pages)}.html" for i in range(args.urls)]
            crawl.add(inputs, classify_run(inputs, ["--workers", "8"], root, timeout=args.timeout,
                                           startup=args.startup))
            parts.append(crawl)
        # 4. one 50 MB page
        big = root / "big.html"
        paragraph = "<p>Regular walking lowers blood pressure in older adults, a cohort study finds.</p>\n"
        big.write_text("<html><body><article>" + paragraph * (50_000_000 // len(paragraph)) + "</article></body></html>")
        huge = Part("one 50 MB page, --max-bytes 100000000")
        huge.add([str(big)], classify_run([str(big)], [*base_options, "--max-bytes", "100000000"], root,
                                          timeout=args.timeout, startup=args.startup))
        parts.append(huge)
        # 5. the crash check
        batch_dir = root / "batch"
        batch_dir.mkdir()
        batch = []
        for path in bench_pages(200):
            target = batch_dir / path.name.removesuffix(".gz")
            target.write_bytes(gzip.decompress(path.read_bytes()))
            batch.append(str(target))
        for engine, repeats in ((engine, args.repeats if engine == "process" else args.other_repeats)
                                for engine in args.engines):
            crash = Part(f"crash check: 200-page batch, `--engine {engine}`")
            for _ in range(repeats):
                crash.add(batch, classify_run(batch, [*base_options, "--engine", engine], root,
                                              timeout=args.timeout, startup=args.startup))
            print(f"{engine}: {crash.problems}", file=sys.stderr)
            parts.append(crash)
    command = command_line(Path(__file__).name, None)
    lines = [
        "# Fuzz: the output contract under bad inputs, network faults, a crawl and repeated batches", "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the end (shared with "
        f"other jobs); {time.strftime('%Y-%m-%d %H:%M')}. Deadline `--timeout {args.timeout:g}`, "
        f"`--workers {args.workers}` unless said.", "",
        "| part | runs | inputs | error lines | tracebacks | hangs | lost lines | misordered | invalid lines "
        "| crashes (exit ∉ {0,1}) | longest wait for a line s | peak PSS MB | peak RSS MB | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for part in parts:
        p = part.problems
        lines.append(f"| {part.name} | {part.runs} | {part.inputs:,} | {part.errors:,} | {p['tracebacks']} | {p['hangs']} | "
                     f"{p['lost lines']} | {p['misordered lines']} | {p['invalid lines']} | {p['bad exit']} | "
                     f"{part.longest_wait:.1f} | {part.peak_pss:.0f} | {part.peak_rss:.0f} | {part.seconds:.0f} |")
    lines += [
        "", "Error lines are inputs that got an error line (most generated inputs are meant to fail). A hang is "
        "a wait of more than the deadline + 2 s for the next line (the first line may also take "
        f"{args.startup:g} s of start-up; the longest wait column has it subtracted). Peak PSS is the memory of the CLI, its fork server and workers "
        "together (shared pages counted once); the RSS sum counts shared pages in every process.", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=20_000, help="generated files (default: %(default)s)")
    parser.add_argument("--chunk", type=int, default=2_000, help="files per run (default: %(default)s)")
    parser.add_argument("--faults", type=int, default=150, help="fault-server URLs (default: %(default)s)")
    parser.add_argument("--urls", type=int, default=1_000, help="crawl URLs (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=50, help="crash-check runs, process engine (default: %(default)s)")
    parser.add_argument("--other-repeats", type=int, default=20,
                        help="crash-check runs of each other engine (default: %(default)s)")
    parser.add_argument("--engines", nargs="+", default=["process", "threads"], help="crash-check engines")
    parser.add_argument("--workers", type=int, default=2, help="workers (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-input deadline (default: %(default)s)")
    parser.add_argument("--startup", type=float, default=15.0, help="start-up allowance, s (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="a small run to try the script")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.chunk, args.faults, args.urls, args.repeats, args.other_repeats = 200, 100, 30, 100, 1, 1
    report = run(args)
    publish(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
