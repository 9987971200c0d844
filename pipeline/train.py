"""`train` stage: choose each head's configuration on the validation split, then fit and save it.

For every head, in one run: a majority-class baseline, TF-IDF character n-grams + logistic regression,
and the embedding / cheap-feature / embedding+feature pipelines over a small grid, all scored on the
validation split (never on the held-out test split). The selection score cannot be won by a language
shortcut: it averages the mean and the minimum of the per-language gold-validation macro-F1
(:data:`SELECTION_LANGUAGES`) and weighs in translation consistency on validation pairs
(:func:`selection_score`). Then the text vote: the best configuration's validation probabilities blended
with the TF-IDF model's at each weight of ``text_vote`` (0 = no vote), the best weight kept
(:func:`choose_text_vote`). The best configuration is refitted on train+val with calibrated probabilities,
the TF-IDF logistic regressions of the heads that vote too (:func:`fit_text_model`), and saved with joblib
to ``models/pagetag.joblib`` (and as plain arrays for numpy-only prediction, :mod:`pipeline.linear_heads`). The comparison table goes to ``metrics/selection.json``.

Training rows and their weights per head (:func:`sample_weights`): gold labels weigh ``gold_weight``,
written pages (translations, contrast pages) ``written_weight``, weak provenance labels ``weak_weight``;
``balance`` then evens out languages within each class. Pages with HTML are also trained with their
page-evidence block blanked (``page_dropout``), so that plain-text inputs keep working.

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
from pipeline.linear_heads import HEADS_FILE, blend, couple_not_applicable, export_heads, softmax, text_votes
from pipeline.model import PageClassifier, column_groups, feature_frame, fit_temperature, make_estimator
from pipeline.page_features import FEATURE_NAMES as PAGE_FEATURES
from pipeline.params import load_params

SELECTION_LANGUAGES = ("en", "fr", "de")
MIN_LANGUAGE_DOCS = 10  # a language counts in the selection score with at least this many gold validation docs
CONSISTENCY_WEIGHT = 0.25
BALANCES = ("none", "language", "class_language")
WRITTEN = ("translation", "contrast")


def load_training_table(params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Manifest rows (with clean text) and their feature frame, aligned row by row."""
    manifest = pd.DataFrame(read_manifest(params["prepare"]["out_dir"]))
    clean = datasets.load_from_disk(params["clean"]["out_dir"]).to_pandas()
    with np.load(params["embed"]["out"]) as data:
        ids = data["ids"].tolist()
        vectors = dict(zip(ids, data["vectors"]))
        tails = dict(zip(ids, data["tail_vectors"])) if "tail_vectors" in data else None
    table = manifest.merge(clean, on="id", validate="one_to_one")
    stats = table[[f"stat_{k}" for k in STAT_KEYS]].rename(columns=lambda c: c[5:]).to_dict("records")
    pages = table[list(PAGE_FEATURES)].to_dict("records") if PAGE_FEATURES[0] in table else None
    X = feature_frame(np.stack([vectors[i] for i in table["id"]]), table["language"].tolist(), stats,
                      table[list(CUE_FEATURES)].to_numpy().tolist(), STAT_KEYS,
                      tail=np.stack([tails[i] for i in table["id"]]) if tails else None, pages=pages)
    return table, X


def sample_weights(table: pd.DataFrame, head: str, config: dict) -> np.ndarray:
    """Per-row training weights of one head (mean 1) for a grid ``config``.

    Gold labels weigh ``gold_weight``, written pages ``written_weight``, weak labels ``weak_weight``
    (default 1) or, for the origins named in ``weak_origin_weights``, their own weight. ``balance``: ``language`` gives every language of a class the same total weight;
    ``class_language`` does the same per (class, language) cell but from the provenance weights, so a
    cell of 20 gold pages weighs as much as a cell of 2,000 weak ones; ``none`` leaves them.
    """
    src = table[f"{head}_src"].to_numpy()
    w = np.ones(len(table))
    w[src == "gold"] = config["gold_weight"]
    w[np.isin(src, WRITTEN)] = config.get("written_weight", 1.0)
    w[src == "weak"] = config.get("weak_weight", 1.0)
    for origin, weight in (config.get("weak_origin_weights") or {}).items():
        w[(src == "weak") & (table["origin"].to_numpy() == origin)] = weight
    balance = config.get("balance", "language" if config.get("balance_languages") else "none")
    if balance not in BALANCES:
        raise ValueError(f"balance must be one of {BALANCES}, not {balance!r}")
    if balance != "none":
        labels, langs = table[head].to_numpy(), table["language"].to_numpy()
        cell_weight, cell_count = Counter(), Counter()
        for y, lang, wi in zip(labels, langs, w):
            cell_weight[(y, lang)] += wi
            cell_count[(y, lang)] += 1
        cell = cell_weight if balance == "class_language" else cell_count
        per_class, cells_in_class = Counter(), Counter()
        for (y, _), total in cell.items():
            per_class[y] += total
            cells_in_class[y] += 1
        w = w * np.array([per_class[y] / (cells_in_class[y] * cell[(y, lang)]) for y, lang in zip(labels, langs)])
    return w / w.mean()


def selection_score(y_true, y_pred, gold_mask, languages, pairs=None) -> dict:
    """Validation scores of one candidate: macro-F1 on all rows and on gold rows, per language, and the
    selection score = (1 - w) × (mean + minimum of the per-language gold macro-F1) / 2 + w × consistency.

    ``pairs``: (index of a page, index of its translation) rows; consistency is the share with the same
    predicted label. Languages with fewer than :data:`MIN_LANGUAGE_DOCS` gold rows do not count.
    """
    all_f1 = f1_score(y_true, y_pred, average="macro", zero_division=0)
    gold_f1 = f1_score(y_true[gold_mask], y_pred[gold_mask], average="macro", zero_division=0) \
        if gold_mask.any() else all_f1
    per_language = {}
    for lang in SELECTION_LANGUAGES:
        sel = gold_mask & (languages == lang)
        if sel.sum() >= MIN_LANGUAGE_DOCS:
            per_language[lang] = round(f1_score(y_true[sel], y_pred[sel], average="macro", zero_division=0), 4)
    worst = float(np.mean(list(per_language.values())) + min(per_language.values())) / 2 if per_language else gold_f1
    out = {"val_macro_f1": round(all_f1, 4), "val_gold_macro_f1": round(gold_f1, 4),
           "val_gold_per_language": per_language}
    if pairs is not None and len(pairs):
        consistency = translation_consistency(y_pred, pairs)
        out["val_translation_consistency"] = round(consistency, 4)
        out["selection_score"] = round((1 - CONSISTENCY_WEIGHT) * worst + CONSISTENCY_WEIGHT * consistency, 4)
    else:
        out["selection_score"] = round(worst, 4)
    return out


def translation_pairs(table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """(source row, translation row) index pairs among ``rows`` of ``table`` (positions in ``table[rows]``)."""
    sub = table[rows].reset_index(drop=True)
    position = {doc_id: i for i, doc_id in enumerate(sub["id"])}
    pairs = [(position[s], i) for i, s in enumerate(sub["source_id"]) if isinstance(s, str) and s in position]
    return np.array(pairs, dtype=int).reshape(-1, 2)


def translation_consistency(pred: np.ndarray, pairs: np.ndarray) -> float:
    """Share of (page, translation) ``pairs`` (:func:`translation_pairs`) given the same label in ``pred``."""
    return float(np.mean(pred[pairs[:, 0]] == pred[pairs[:, 1]]))


def with_page_dropout(X: pd.DataFrame, y, weights: np.ndarray):
    """Rows that have page evidence twice: once with it, once blanked (each at half weight)."""
    has_page = X["page_page_present"].to_numpy() > 0 if "page_page_present" in X else np.zeros(len(X), bool)
    if not has_page.any():
        return X, y, weights
    blank = X[has_page].copy()
    blank[column_groups(X.columns)["page"]] = 0.0
    w = weights.copy()
    w[has_page] /= 2
    return (pd.concat([X, blank], ignore_index=True), np.concatenate([np.asarray(y), np.asarray(y)[has_page]]),
            np.concatenate([w, weights[has_page] / 2]))


def fit_config(config: dict, head: str, table: pd.DataFrame, X: pd.DataFrame, rows: np.ndarray, *,
               calibration: str = "none", calibration_folds: int = 2, seed: int = 0):
    """Fit one head's Pipeline for a grid ``config`` on the selected rows (weights from the config too)."""
    folds = min(calibration_folds, table[head][rows].value_counts().min())
    views = tuple(config.get("views") or ())
    model = make_estimator(config["feature_set"], C=config["C"], class_weight=config.get("class_weight", "balanced"),
                           center_languages=config["center_languages"],
                           calibration=calibration if folds >= 2 else "none",
                           calibration_folds=max(folds, 2), seed=seed, columns=list(X.columns), views=views)
    weights = sample_weights(table[rows], head, config)
    Xr, yr = X[rows].reset_index(drop=True), table[head][rows].to_numpy()
    if "page" in views and config.get("page_dropout"):
        Xr, yr, weights = with_page_dropout(Xr, yr, weights)
    keep = weights > 0
    return model.fit(Xr[keep], yr[keep], classifier__sample_weight=weights[keep] / weights[keep].mean())


def validation_rows(table: pd.DataFrame, head: str) -> tuple[np.ndarray, np.ndarray]:
    """Training rows (train split, written validation pages excluded) and validation rows of one head."""
    labelled = table[head].notna().to_numpy()
    return labelled & (table["split"] == "train").to_numpy(), labelled & (table["split"] == "val").to_numpy()


def score_rows(table: pd.DataFrame, head: str, val: np.ndarray, pred: np.ndarray) -> dict:
    """:func:`selection_score` of predictions ``pred`` for ``table[val]``."""
    sub = table[val]
    return selection_score(sub[head].to_numpy(), np.asarray(pred), (sub[f"{head}_src"] == "gold").to_numpy(),
                           sub["language"].to_numpy(), translation_pairs(table, val))


def _fit_and_score(config, X, table, head, seed) -> tuple[dict, np.ndarray, np.ndarray]:
    """A grid point's scores, and its validation probabilities with their classes."""
    start = time.perf_counter()
    train, val = validation_rows(table, head)
    model = fit_config(config, head, table, X, train, seed=seed)
    proba, classes = model.predict_proba(X[val]), np.array(model.classes_)
    return ({**config, **score_rows(table, head, val, classes[proba.argmax(axis=1)]),
             "fit_seconds": round(time.perf_counter() - start, 1)}, proba, classes)


def text_classifier(C: float, seed: int) -> LogisticRegression:
    """The TF-IDF char n-gram model's logistic regression (a baseline, and the text vote)."""
    return LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=seed)


def text_vectorizer(max_features: int) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, max_features=max_features,
                           sublinear_tf=True)


def baselines(table, head, tfidf, tfidf_C, seed) -> tuple[list[dict], LogisticRegression]:
    """Majority class and TF-IDF char n-grams + logistic regression, scored like the candidates; and the
    fitted TF-IDF model (its validation probabilities are the text vote's, :func:`text_vote_scores`)."""
    train, val = validation_rows(table, head)
    y_train = table[head][train]
    majority = DummyClassifier(strategy="most_frequent").fit(np.zeros((train.sum(), 1)), y_train)
    out = [{"feature_set": "majority",
            **score_rows(table, head, val, majority.predict(np.zeros((val.sum(), 1))))}]
    start = time.perf_counter()
    model = text_classifier(tfidf_C, seed).fit(tfidf[train], y_train)
    out.append({"feature_set": "tfidf_char_lr", **score_rows(table, head, val, model.predict(tfidf[val])),
                "fit_seconds": round(time.perf_counter() - start, 1)})
    return out, model


def choose_text_vote(head, table, proba, classes, text_model, tfidf, weights) -> dict:
    """The text vote of the chosen configuration, on validation. Its validation probabilities ``proba``
    (fitted on train) are first given a temperature, as the final head's are, then blended with the TF-IDF
    model's at each of ``weights`` (0 = the head alone); the best-scoring weight (the lightest on ties) is
    kept, with the temperature that recalibrates its blend."""
    _, val = validation_rows(table, head)
    y = table[head][val].to_numpy()
    known = np.isin(y, classes)
    target = np.searchsorted(classes, y[known])
    log_proba = np.log(np.clip(proba, 1e-12, None))
    proba = softmax(log_proba / fit_temperature(log_proba[known], target))
    vote = text_model.predict_proba(tfidf[val])[:, [list(text_model.classes_).index(c) for c in classes]]
    scores = {str(w): score_rows(table, head, val, classes[blend(proba, vote, w).argmax(axis=1)]) for w in weights}
    weight = float(max(scores, key=lambda w: (scores[w]["selection_score"], -float(w))))
    mixed = np.log(np.clip(blend(proba, vote, weight)[known], 1e-12, None))
    temperature = fit_temperature(mixed, target) if weight else 1.0
    return {"text_vote": weight, "text_vote_temperature": round(temperature, 4), "text_vote_scores": scores}


def select_head(head, table, X, p, tfidf, n_jobs) -> tuple[dict, list[dict]]:
    """Grid-search one head on the validation split; return the best config and the whole table.

    Every grid point also carries one of the head's candidate feature-view sets (``train.views``: the
    page-evidence block is about who published a page, so it serves source type; it misleads topic, see the
    README).
    Then the text vote (:func:`choose_text_vote`): the head's ``text_vote`` weight (0: no vote) and
    ``text_vote_temperature``.
    """
    keys = list(p["grid"])
    grid = [{**dict(zip(keys, combo)), "views": list(views)}
            for views in p["views"][head] for combo in itertools.product(*(p["grid"][k] for k in keys))]
    fitted = Parallel(n_jobs=n_jobs)(delayed(_fit_and_score)(cfg, X, table, head, p["seed"]) for cfg in grid)
    best, proba, classes = max(fitted, key=lambda f: f[0]["selection_score"])
    rows, text_model = baselines(table, head, tfidf, p["tfidf_C"], p["seed"])
    vote = choose_text_vote(head, table, proba, classes, text_model, tfidf, p["text_vote"])
    return {**best, **vote}, rows + [row for row, _, _ in fitted]


def fit_final(head, best, table, X, p) -> object:
    """Refit the chosen configuration on train+val with calibrated probabilities."""
    rows = table[head].notna().to_numpy() & table["split"].isin(["train", "val"]).to_numpy()
    return fit_config(best, head, table, X, rows, calibration=p["calibration"],
                      calibration_folds=p["calibration_folds"], seed=p["seed"])


def fit_text_model(config: dict, table, vectorizer, tfidf, p) -> dict | None:
    """The text vote: the TF-IDF vectorizer the votes were chosen with (fitted on the train split) and, per head
    with a vote in ``config`` (:func:`pipeline.linear_heads.text_votes`), its logistic regression refitted on
    train+val (float32 weights)."""
    votes = text_votes(config)
    if not votes:
        return None
    fit = table["split"].isin(["train", "val"]).to_numpy()
    heads = {}
    for head in votes:
        rows = fit & table[head].notna().to_numpy()
        heads[head] = text_classifier(p["tfidf_C"], p["seed"]).fit(tfidf[rows], table[head][rows])
        heads[head].coef_ = heads[head].coef_.astype(np.float32)
    return {"vectorizer": vectorizer, "heads": heads}


def coupling_on_validation(table, X, selection: dict, seed: int) -> dict:
    """Evidence-level validation scores without and with :func:`couple_not_applicable` (heads fitted on train)."""
    train, val = (table["split"] == "train").to_numpy(), (table["split"] == "val").to_numpy()
    models = {head: fit_config(selection[head]["best"], head, table, X, train & table[head].notna().to_numpy(),
                               seed=seed) for head in ("evidence_level", "topic")}
    rows = val & table["evidence_level"].notna().to_numpy()
    evidence, topic = models["evidence_level"].predict_proba(X[rows]), models["topic"].predict_proba(X[rows])
    classes = np.array(models["evidence_level"].classes_)
    coupled = couple_not_applicable(evidence, list(classes), topic, list(models["topic"].classes_))
    return {"off": score_rows(table, "evidence_level", rows, classes[evidence.argmax(axis=1)]),
            "on": score_rows(table, "evidence_level", rows, classes[coupled.argmax(axis=1)])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    p = params["train"]
    table, X = load_training_table(params)
    vectorizer = text_vectorizer(p["tfidf_features"])
    fit_rows = (table["split"] == "train").to_numpy()
    texts = table["clean_text"].str.slice(0, params["embed"]["max_chars"])
    vectorizer.fit(texts[fit_rows])
    tfidf = vectorizer.transform(texts)
    heads, selection = {}, {}
    for head in HEADS:
        best, rows = select_head(head, table, X, p, tfidf, p["n_jobs"])
        selection[head] = {"best": best, "candidates": rows}
        heads[head] = fit_final(head, best, table, X, p)
        print(f"train: {head}: best {', '.join(f'{k}={best[k]}' for k in [*p['grid'], 'views', 'text_vote'])} "
              f"val macro-F1 {best['val_macro_f1']} (gold {best['val_gold_macro_f1']})")
    coupling = coupling_on_validation(table, X, selection, p["seed"])
    selection["evidence_level"]["couple_not_applicable"] = coupling
    print(f"train: evidence_level with not_applicable following topic non_health: val selection score "
          f"{coupling['off']['selection_score']} -> {coupling['on']['selection_score']}")
    config = {"embedder": params["embed"]["model"], "max_chars": params["embed"]["max_chars"],
              "chunk_chars": params["embed"]["chunk_chars"], "tail_chars": params["embed"]["tail_chars"],
              "stat_keys": list(STAT_KEYS),
              "calibration": p["calibration"],
              "couple_not_applicable": bool(coupling["on"]["selection_score"] > coupling["off"]["selection_score"]),
              "text_vote": {head: selection[head]["best"]["text_vote"] for head in HEADS},
              "text_vote_temperature": {head: selection[head]["best"]["text_vote_temperature"] for head in HEADS}}
    text_model = fit_text_model(config, table, vectorizer, tfidf, p)
    classifier = PageClassifier(heads, config, text_model)
    classifier.save(p["out_dir"])
    export_heads(classifier, Path(p["out_dir"]) / HEADS_FILE)
    Path(p["selection_out"]).parent.mkdir(parents=True, exist_ok=True)
    Path(p["selection_out"]).write_text(json.dumps(selection, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
