"""`train` stage: choose each head's configuration on the validation split, then fit and save it.

For every head, in one run: a majority-class baseline, TF-IDF character n-grams + logistic regression,
and the embedding / cheap-feature / embedding+feature pipelines over a small grid, all scored on the
validation split (never on the held-out test split). The best configuration is refitted on
train+val with calibrated probabilities and saved with joblib to ``models/pagetag.joblib``. The
comparison table goes to ``metrics/selection.json``.

Usage: ``python -m pipeline.train [--params params.yaml]``
"""

import argparse
import itertools
import json
import time
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from pipeline.clean import STAT_KEYS
from pipeline.clean_corpus import read_manifest
from pipeline.cues import FEATURE_NAMES as CUE_FEATURES
from pipeline.labels import HEADS
from pipeline.model import PageClassifier, couple_not_applicable, feature_frame, make_estimator
from pipeline.params import load_params


def load_training_table(params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Manifest rows (with clean text) and their feature frame, aligned row by row."""
    manifest = pd.DataFrame(read_manifest(params["prepare"]["out_dir"]))
    clean = datasets.load_from_disk(params["clean"]["out_dir"]).to_pandas()
    with np.load(params["embed"]["out"]) as data:
        vectors = dict(zip(data["ids"].tolist(), data["vectors"]))
    table = manifest.merge(clean, on="id", validate="one_to_one")
    stats = table[[f"stat_{k}" for k in STAT_KEYS]].rename(columns=lambda c: c[5:]).to_dict("records")
    X = feature_frame(np.stack([vectors[i] for i in table["id"]]), table["language"].tolist(), stats,
                      table[list(CUE_FEATURES)].to_numpy().tolist(), STAT_KEYS)
    return table, X


def sample_weights(table: pd.DataFrame, head: str, gold_weight: float, balance_languages: bool) -> np.ndarray:
    """Gold rows weigh ``gold_weight``; optionally every language gets equal weight within each class."""
    w = np.where(table[f"{head}_src"].to_numpy() == "gold", gold_weight, 1.0)
    if balance_languages:
        cells = Counter(zip(table[head], table["language"]))
        per_class = Counter(table[head])
        langs_in_class = Counter(label for label, _ in cells)
        w = w * np.array([per_class[y] / (langs_in_class[y] * cells[(y, lang)])
                          for y, lang in zip(table[head], table["language"])])
    return w / w.mean()


def _score(y_true, y_pred, gold_mask) -> dict:
    """Validation macro-F1 on all rows, on gold rows, and their mean (the selection criterion)."""
    all_f1 = f1_score(y_true, y_pred, average="macro", zero_division=0)
    gold_f1 = f1_score(y_true[gold_mask], y_pred[gold_mask], average="macro", zero_division=0) \
        if gold_mask.any() else all_f1
    return {"val_macro_f1": round(all_f1, 4), "val_gold_macro_f1": round(gold_f1, 4),
            "selection_score": round((all_f1 + gold_f1) / 2, 4)}


def fit_config(config: dict, head: str, table: pd.DataFrame, X: pd.DataFrame, rows: np.ndarray, *,
               calibration: str = "none", calibration_folds: int = 2, seed: int = 0):
    """Fit one head's Pipeline for a grid ``config`` on the selected rows (weights from the config too)."""
    folds = min(calibration_folds, table[head][rows].value_counts().min())
    model = make_estimator(config["feature_set"], C=config["C"], class_weight=config.get("class_weight", "balanced"),
                           center_languages=config["center_languages"],
                           calibration=calibration if folds >= 2 else "none",
                           calibration_folds=max(folds, 2), seed=seed, columns=list(X.columns))
    weights = sample_weights(table[rows], head, config["gold_weight"], config["balance_languages"])
    return model.fit(X[rows], table[head][rows], classifier__sample_weight=weights)


def _fit_and_score(config, X, table, head, train, val, seed):
    start = time.perf_counter()
    pred = fit_config(config, head, table, X, train, seed=seed).predict(X[val])
    gold = (table[f"{head}_src"][val] == "gold").to_numpy()
    return {**config, **_score(table[head][val].to_numpy(), pred, gold),
            "fit_seconds": round(time.perf_counter() - start, 1)}


def baselines(table, head, train, val, tfidf_train, tfidf_val, tfidf_C, seed) -> list[dict]:
    """Majority class and TF-IDF char n-grams + logistic regression, scored like the candidates."""
    y_train, y_val = table[head][train], table[head][val].to_numpy()
    gold = (table[f"{head}_src"][val] == "gold").to_numpy()
    majority = DummyClassifier(strategy="most_frequent").fit(np.zeros((train.sum(), 1)), y_train)
    out = [{"feature_set": "majority", **_score(y_val, majority.predict(np.zeros((val.sum(), 1))), gold)}]
    start = time.perf_counter()
    tfidf = LogisticRegression(C=tfidf_C, class_weight="balanced", max_iter=3000, random_state=seed)
    tfidf.fit(tfidf_train, y_train)
    out.append({"feature_set": "tfidf_char_lr", **_score(y_val, tfidf.predict(tfidf_val), gold),
                "fit_seconds": round(time.perf_counter() - start, 1)})
    return out


def select_head(head, table, X, p, tfidf, n_jobs) -> tuple[dict, list[dict]]:
    """Grid-search one head on the validation split; return the best config and the whole table."""
    labelled = table[head].notna().to_numpy()
    sub, Xs, tfidf = table[labelled].reset_index(drop=True), X[labelled].reset_index(drop=True), tfidf[labelled]
    train, val = (sub["split"] == "train").to_numpy(), (sub["split"] == "val").to_numpy()
    keys = list(p["grid"])
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(p["grid"][k] for k in keys))]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_score)(cfg, Xs, sub, head, train, val, p["seed"]) for cfg in grid)
    best = max(results, key=lambda r: r["selection_score"])
    rows = baselines(sub, head, train, val, tfidf[train], tfidf[val], p["tfidf_C"], p["seed"]) + results
    return best, rows


def fit_final(head, best, table, X, p) -> object:
    """Refit the chosen configuration on train+val with calibrated probabilities."""
    rows = table[head].notna().to_numpy() & table["split"].isin(["train", "val"]).to_numpy()
    return fit_config(best, head, table, X, rows, calibration=p["calibration"],
                      calibration_folds=p["calibration_folds"], seed=p["seed"])


def coupling_on_validation(table, X, selection: dict, seed: int) -> dict:
    """Evidence-level validation scores without and with :func:`couple_not_applicable` (heads fitted on train)."""
    train, val = (table["split"] == "train").to_numpy(), (table["split"] == "val").to_numpy()
    models = {head: fit_config(selection[head]["best"], head, table, X, train & table[head].notna().to_numpy(),
                               seed=seed) for head in ("evidence_level", "topic")}
    rows = val & table["evidence_level"].notna().to_numpy()
    evidence, topic = models["evidence_level"].predict_proba(X[rows]), models["topic"].predict_proba(X[rows])
    classes = np.array(models["evidence_level"].classes_)
    coupled = couple_not_applicable(evidence, list(classes), topic, list(models["topic"].classes_))
    y, gold = table["evidence_level"][rows].to_numpy(), (table["evidence_level_src"][rows] == "gold").to_numpy()
    return {"off": _score(y, classes[evidence.argmax(axis=1)], gold),
            "on": _score(y, classes[coupled.argmax(axis=1)], gold)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    p = params["train"]
    table, X = load_training_table(params)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, max_features=p["tfidf_features"],
                                 sublinear_tf=True)
    fit_rows = (table["split"] == "train").to_numpy()
    texts = table["clean_text"].str.slice(0, params["embed"]["max_chars"])
    vectorizer.fit(texts[fit_rows])
    tfidf = vectorizer.transform(texts)
    heads, selection = {}, {}
    for head in HEADS:
        best, rows = select_head(head, table, X, p, tfidf, p["n_jobs"])
        selection[head] = {"best": best, "candidates": rows}
        heads[head] = fit_final(head, best, table, X, p)
        print(f"train: {head}: best {', '.join(f'{k}={best[k]}' for k in p['grid'])} "
              f"val macro-F1 {best['val_macro_f1']} (gold {best['val_gold_macro_f1']})")
    coupling = coupling_on_validation(table, X, selection, p["seed"])
    selection["evidence_level"]["couple_not_applicable"] = coupling
    print(f"train: evidence_level with not_applicable following topic non_health: val selection score "
          f"{coupling['off']['selection_score']} -> {coupling['on']['selection_score']}")
    config = {"embedder": params["embed"]["model"], "max_chars": params["embed"]["max_chars"],
              "chunk_chars": params["embed"]["chunk_chars"], "stat_keys": list(STAT_KEYS),
              "calibration": p["calibration"],
              "couple_not_applicable": coupling["on"]["selection_score"] > coupling["off"]["selection_score"]}
    PageClassifier(heads, config).save(p["out_dir"])
    Path(p["selection_out"]).parent.mkdir(parents=True, exist_ok=True)
    Path(p["selection_out"]).write_text(json.dumps(selection, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
