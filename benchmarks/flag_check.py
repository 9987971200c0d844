"""Exaggeration-flag precision: draw flagged corpus pages to check by reading, and re-score the checked ones.

``--draw N``: classify the corpus pages of ``--origins`` (clean text → :class:`pipeline.predict.Predictor`,
the same path as ``pagetag classify``), keep the pages that get at least one flag and draw N of them at
random, spread over the origins; write a reading sheet (page id, predicted and, where the corpus has one,
annotated evidence level, the first flag and the page text) to ``--sheet``, a path outside the repository,
because the corpus texts must not be committed.

Without ``--draw``: re-classify the pages recorded in ``corpus/flag_checks.jsonl`` (one line per
checked page: ``id``, ``kind``, ``sha1`` of the flagged sentence, ``verdict`` right/wrong and a short
``reason``), check that the recorded flag still fires, and report precision per kind, origin and language
to ``benchmarks/results/flag_check.md``.

Usage: python benchmarks/flag_check.py [--draw 100 --sheet /tmp/flag_sheet.md [--exclude SHEET...] [--cache PKL]]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.extraction import publish  # noqa: E402
from pipeline.claims import ClaimModel, exaggeration_flags  # noqa: E402
from pipeline.clean import clean_text  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from pipeline.predict import Predictor  # noqa: E402

DATA = REPO.parent / "shared" / "corpus"
CHECKS = REPO / "corpus" / "flag_checks.jsonl"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "flag_check.md"
FILES = {"fakehealth": "sources/fakehealth.jsonl", "frcore": "sources/frcore.jsonl", "de_web": "sources/de_web.jsonl",
         "gnad10k": "sources/gnad10k.jsonl", "contrast": "contrast.jsonl", "translation": "translations.jsonl"}


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def read_pages(origins: list[str]) -> dict[str, dict]:
    """Corpus pages by id, with their annotated evidence level where the corpus has one."""
    gold = {}
    with open(DATA / "gold.jsonl", encoding="utf-8") as fh:
        gold = {row["id"]: row["evidence_level"] for row in map(json.loads, fh)}
    pages = {}
    for origin in origins:
        with open(DATA / FILES[origin], encoding="utf-8") as fh:
            for doc in map(json.loads, fh):
                doc["annotated_evidence"] = doc.get("evidence_level") or gold.get(doc["id"])
                pages[doc["id"]] = doc
    return pages


def classify(predictor: Predictor, pages: list[dict], batch: int = 64) -> dict[str, dict]:
    """Prediction records (labels, cues, claims, flags) by page id; pages the cleaner empties are skipped."""
    out = {}
    for start in tqdm(range(0, len(pages), batch), desc="classify", unit="batch"):
        cleaned = []
        for doc in pages[start:start + batch]:
            try:
                cleaned.append((doc["id"], clean_text(doc["text"], input=doc["id"])))
            except InputError:
                continue
        cleaned = [(i, r) for i, r in cleaned if r.text.strip() and r.language in {"en", "fr", "de", "es", "it"}]
        for (page_id, _), record in zip(cleaned, predictor.classify([r for _, r in cleaned])):
            out[page_id] = record
    return out


def refresh_flags(records: dict[str, dict]) -> None:
    """Recompute every record's flags from its claims with the current rule (claims and labels unchanged)."""
    settings = ClaimModel.load().settings
    for record in records.values():
        record["flags"] = exaggeration_flags(
            record["claims"], record["labels"], record["evidence_cues"],
            min_score=settings["flag_min_score"], min_level_score=settings["flag_min_level_score"],
            lead_chars=int(settings["flag_lead_chars"]))


def draw(args: argparse.Namespace) -> None:
    pages = read_pages(args.origins)
    if args.cache and args.cache.exists():
        records = pickle.loads(args.cache.read_bytes())
        refresh_flags(records)
    else:
        records = classify(Predictor(), list(pages.values()))
        if args.cache:
            args.cache.write_bytes(pickle.dumps(records))
    flagged = defaultdict(list)
    for page_id, record in records.items():
        if record["flags"]:
            flagged[pages[page_id]["origin"]].append(page_id)
    done = {row["id"] for row in map(json.loads, CHECKS.open(encoding="utf-8"))} if CHECKS.exists() else set()
    for sheet in args.exclude:
        done |= set(re.findall(r"^## \d+ (\S+)", sheet.read_text(encoding="utf-8"), re.MULTILINE))
    rng = random.Random(args.seed)
    pools = {origin: [i for i in sorted(ids) if i not in done] for origin, ids in flagged.items()}
    for pool in pools.values():
        rng.shuffle(pool)
    chosen = []
    while len(chosen) < args.draw and any(pools.values()):  # round robin over the origins
        for origin in sorted(pools):
            if pools[origin] and len(chosen) < args.draw:
                chosen.append(pools[origin].pop())
    print("flagged pages per origin:", {o: len(v) for o, v in flagged.items()}, f"; drew {len(chosen)}")
    with open(args.sheet, "w", encoding="utf-8") as fh:
        for n, page_id in enumerate(chosen):
            doc, record = pages[page_id], records[page_id]
            flag, evidence = record["flags"][0], record["labels"]["evidence_level"]
            fh.write(f"## {n} {page_id} ({doc['origin']}, {doc['lang']})\n"
                     f"predicted evidence: {evidence['label']} {evidence['score']:.2f}; annotated: "
                     f"{doc['annotated_evidence'] or '-'}; scenario: {doc.get('scenario', '-')}\n"
                     f"FLAG {flag['kind']} [{flag['strength']} {flag['score']:.2f}] sha1={sha1(flag['sentence'])}\n"
                     f">> {' '.join(flag['sentence'].split())}\n\n{' '.join(doc['text'][:args.chars].split())}\n\n")
    print(f"reading sheet: {args.sheet}")


def verify(args: argparse.Namespace) -> str:
    checks = [json.loads(line) for line in CHECKS.open(encoding="utf-8") if line.strip()]
    pages = read_pages(list(FILES))
    records = classify(Predictor(), [pages[row["id"]] for row in checks])
    still = [any(f["kind"] == row["kind"] and sha1(f["sentence"]) == row["sha1"]
                 for f in records.get(row["id"], {}).get("flags", [])) for row in checks]
    gone = Counter(row["verdict"] for row, fires in zip(checks, still) if not fires)
    lines = ["# Exaggeration flags checked by reading", "",
             f"Command: `python benchmarks/flag_check.py`; checks: `corpus/flag_checks.jsonl` "
             f"({len(checks)} pages, one flag each, the first on the page); {sum(still)} of the recorded flags "
             f"still fire with the committed models and are scored below; {len(checks) - sum(still)} no longer "
             f"fire ({gone['wrong']} of them had been judged wrong, {gone['right']} right).", "",
             "| group | flags | right | precision |", "|---|---:|---:|---:|"]
    groups: dict[str, Counter] = defaultdict(Counter)
    for row in (row for row, fires in zip(checks, still) if fires):
        for key in ("all", f"kind: {row['kind']}", f"origin: {pages[row['id']]['origin']}",
                    f"language: {pages[row['id']]['lang']}"):
            groups[key]["n"] += 1
            groups[key]["right"] += row["verdict"] == "right"
    for key in sorted(groups, key=lambda k: (k != "all", k)):
        n, right = groups[key]["n"], groups[key]["right"]
        lines.append(f"| {key} | {n} | {right} | {right / n:.2f} |")
    reasons = Counter(row["reason"].split(":")[0] for row, fires in zip(checks, still)
                      if fires and row["verdict"] == "wrong")
    lines += ["", "Why wrong flags are wrong: " + (", ".join(f"{r} ×{n}" for r, n in reasons.most_common()) or "-"), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draw", type=int, default=0, help="draw this many flagged pages to check (0: verify)")
    parser.add_argument("--origins", nargs="+", default=list(FILES), choices=list(FILES))
    parser.add_argument("--sheet", type=Path, default=Path("/tmp/pagetag_flag_sheet.md"),
                        help="reading sheet (contains corpus text: keep it outside the repository)")
    parser.add_argument("--chars", type=int, default=1800, help="characters of page text on the sheet")
    parser.add_argument("--exclude", type=Path, nargs="*", default=[],
                        help="earlier reading sheets whose pages are not drawn again")
    parser.add_argument("--cache", type=Path, help="pickle of the classified corpus (reused by later draws)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.draw:
        draw(args)
        return 0
    report = verify(args)
    publish(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
