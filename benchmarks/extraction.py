"""Measure main-text extraction quality and speed on ../shared/html_bench.

Compares, on the same pages and in one process: plain trafilatura (default ``extract``),
trafilatura with ``favor_precision=True``, and our cleaner (``clean_html``: tuned trafilatura
options + text cleaner). Scoring follows the README of each set:

* scrapinghub: 4-word-shingle precision/recall/F1 per document, averaged (upstream evaluate.py);
* trafilatura_eval: "with"/"without" snippets found in the output, micro-averaged (upstream eval_common.py).

Usage: python benchmarks/extraction.py [--set scrapinghub|trafilatura_eval|all] [--limit N] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.clean import RECALL_FALLBACK_CHARS, TRAFILATURA_OPTIONS, builtin_similarity, clean_html  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.fetch import decode_bytes  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parents[2] / "shared" / "html_bench"
SETS = ("scrapinghub", "trafilatura_eval")
_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


@dataclass
class BenchPage:
    """One benchmark page: raw HTML bytes, its URL (if real) and its gold annotation."""

    key: str
    raw: bytes
    url: str | None
    gold: dict


def _ours(raw: bytes, url: str | None) -> str:
    try:
        return clean_html(decode_bytes(raw), url=url).text
    except InputError:
        return ""


SYSTEMS: dict[str, Callable[[bytes, str | None], str]] = {
    "trafilatura (default extract)": lambda raw, url: trafilatura.extract(raw, url=url) or "",
    "trafilatura favor_precision=True": lambda raw, url: trafilatura.extract(raw, url=url, favor_precision=True) or "",
    "pagetag clean_html": _ours,
}


def load_pages(name: str, limit: int | None) -> list[BenchPage]:
    """Pages of one set, sorted by key, first ``limit`` only when given."""
    folder = BENCH_DIR / name
    if name == "scrapinghub":
        gold = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
        keys = sorted(gold)[:limit]
        return [
            BenchPage(key, gzip.open(folder / "html" / f"{key}.html.gz").read(), gold[key]["url"], gold[key])
            for key in keys
        ]
    gold = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    keys = sorted(gold)[:limit]
    pages = []
    for key in keys:
        url = gold[key]["url"]
        pages.append(BenchPage(key, gzip.open(folder / gold[key]["html_gz"]).read(),
                               url if url.startswith(("http://", "https://")) else None, gold[key]))
    return pages


# --- scrapinghub scoring (upstream evaluate.py) ---------------------------------------------

def _shingles(text: str) -> Counter:
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i:i + 4]) for i in range(max(1, len(tokens) - 3)) if tokens)


def _shingle_tp_fp_fn(predicted: str, true: str) -> tuple[float, float, float]:
    pred_counts, true_counts = _shingles(predicted), _shingles(true)
    tp = fp = fn = 0.0
    for shingle in set(pred_counts) | set(true_counts):
        p, t = pred_counts.get(shingle, 0), true_counts.get(shingle, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total > 0 else (tp, fp, fn)


def shingle_scores(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Corpus precision/recall/F1/accuracy from (predicted, true) texts, as upstream evaluate.py."""
    counts = [_shingle_tp_fp_fn(predicted, true) for predicted, true in pairs]
    precisions = [1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))
                  for tp, fp, fn in counts if tp + fp > 0]
    recalls = [1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))
               for tp, fp, fn in counts if tp + fn > 0]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = sum(_TOKEN.findall(predicted) == _TOKEN.findall(true) for predicted, true in pairs)
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": exact / len(pairs) if pairs else 0.0}


# --- trafilatura_eval scoring (upstream eval_common.py) -------------------------------------

def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def snippet_scores(pairs: list[tuple[str, dict]]) -> dict[str, float]:
    """Micro-averaged with/without snippet scores from (predicted, gold entry) pairs."""
    tp = fp = fn = tn = 0
    for predicted, gold in pairs:
        out = _norm(predicted)
        found_with = sum(bool(out) and _norm(s) in out for s in gold["with"])
        found_without = sum(bool(out) and _norm(s) in out for s in gold["without"])
        tp += found_with
        fn += len(gold["with"]) - found_with
        fp += found_without
        tn += len(gold["without"]) - found_without
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "accuracy": (tp + tn) / (tp + fp + fn + tn) if tp + fp + fn + tn else 0.0,
        "boilerplate_removed": tn / (tn + fp) if tn + fp else 0.0,
    }


@dataclass
class SystemRun:
    """Outputs and total extraction time of one system over one set."""

    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_set(name: str, pages: list[BenchPage], systems: dict[str, Callable]) -> dict[str, dict[str, float]]:
    """Run every system on every page (interleaved, so load changes hit all alike) and score them."""
    runs = {system: SystemRun() for system in systems}
    builtin_similarity(["warm-up"])  # the cleaner's embedder loads once per process, on first need
    for extract in systems.values():  # load models and caches before timing
        extract(pages[0].raw, pages[0].url)
    for number, page in enumerate(pages, 1):
        for system, extract in systems.items():
            start = time.perf_counter()
            output = extract(page.raw, page.url)
            runs[system].seconds += time.perf_counter() - start
            runs[system].outputs.append(output)
        if number % 100 == 0:
            print(f"{name}: {number}/{len(pages)} pages", file=sys.stderr, flush=True)
    results = {}
    for system, run in runs.items():
        if name == "scrapinghub":
            scores = shingle_scores([(out, page.gold["articleBody"]) for out, page in zip(run.outputs, pages)])
        else:
            scores = snippet_scores([(out, page.gold) for out, page in zip(run.outputs, pages)])
        scores["pages_per_second"] = len(pages) / run.seconds if run.seconds else 0.0
        scores["seconds"] = run.seconds
        results[system] = scores
    return results


def markdown_report(results: dict[str, dict[str, dict[str, float]]], counts: dict[str, int], command: str) -> str:
    """Markdown table of all sets and systems, with the command that produced it."""
    lines = [
        "# Main-text extraction benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"trafilatura {trafilatura.__version__}; our trafilatura options: `{TRAFILATURA_OPTIONS}`, re-extracted with "
        f"balanced settings when that keeps under {RECALL_FALLBACK_CHARS} characters; then pagetag's text cleaner "
        "(its built-in embedder loaded before timing).",
        "scrapinghub: 4-word-shingle P/R/F1 averaged per document, accuracy = exact token match (upstream evaluate.py).",
        "trafilatura_eval: micro-averaged with/without snippets; 'boilerplate removed' = share of 'without' snippets absent.",
        "Time ratio is relative to plain trafilatura on the same pages in the same run (one process).",
        "",
        "| set | pages | system | precision | recall | F1 | accuracy | boilerplate removed | pages/s | time ratio |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, systems in results.items():
        baseline = next(iter(systems.values()))["seconds"]
        for system, s in systems.items():
            removed = f"{s['boilerplate_removed']:.3f}" if "boilerplate_removed" in s else "-"
            ratio = s["seconds"] / baseline if baseline else 0.0
            lines.append(
                f"| {name} | {counts[name]} | {system} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                f"{s['accuracy']:.3f} | {removed} | {s['pages_per_second']:.1f} | {ratio:.2f} |"
            )
    return "\n".join(lines) + "\n"


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that produced a report, as it is printed in it."""
    return " ".join(shlex.quote(a) for a in ["python", f"benchmarks/{script}",
                                              *(argv if argv is not None else sys.argv[1:])])


def publish(report: str, out: Path | None) -> None:
    """Print a markdown report and, with ``out``, write it there."""
    print(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=(*SETS, "all"), default="all", help="which benchmark set (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each set (sorted by key)")
    parser.add_argument("--out", type=Path, default=None, help="write a markdown table to this file")
    args = parser.parse_args(argv)
    if not BENCH_DIR.is_dir():
        parser.error(f"benchmark data not found: {BENCH_DIR}")
    names = SETS if args.set == "all" else (args.set,)
    results, counts = {}, {}
    for name in names:
        pages = load_pages(name, args.limit)
        counts[name] = len(pages)
        results[name] = run_set(name, pages, SYSTEMS)
    publish(markdown_report(results, counts, command_line("extraction.py", argv)), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
