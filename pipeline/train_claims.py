"""`claims` stage: train the claim-strength model and measure it, the finding detector and the flags.

1. English (``claims.corpus``: 3,061 PubMed conclusion sentences, Yu et al. 2019): nested cross-validation,
   the outer ``folds`` give the reported macro-F1, an inner cross-validation within each outer training
   part picks C from the grid (the concept-gram vocabulary is fitted inside every fit).
2. French/German (``claims.labels``: ids, character offsets, SHA-1 and labels only; the sentences are
   re-read from ``data_dir``): macro-F1 of the English-only model (zero-shot), of page-grouped
   cross-validation where English plus the other folds train, and of the rule baseline.
3. The final model (English + the labelled French/German development sentences, temperature-calibrated,
   :class:`pipeline.model.TemperatureScaledClassifier`) is exported to plain numpy arrays
   (``models/claims.npz``, read by :class:`pipeline.claims.ClaimModel`) and scored on the ``test`` sample,
   French/German sentences labelled after the design was frozen and never trained on.
4. Precision/recall of :func:`pipeline.claims.is_finding` on the random sample of labelled sentences, and
   precision of the exaggeration flags on the pages checked by reading (``claims.flag_checks``).

Writes ``metrics/claims.json`` and ``plots/claims_*``. Runs only with ``../shared`` present.

Usage: ``python -m pipeline.train_claims [--params params.yaml]``
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score  # noqa: E402
from sklearn.model_selection import GroupKFold, StratifiedKFold  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline.claims import (CORPUS_LABELS, PHRASE_FEATURES, STRENGTHS, ClaimModel, claim_features,  # noqa: E402
                             concept_grams, is_finding, rule_strength)
from pipeline.embed import load_embedder  # noqa: E402
from pipeline.errors import PagetagError  # noqa: E402
from pipeline.model import TemperatureScaledClassifier  # noqa: E402
from pipeline.params import load_params  # noqa: E402

EXTRA_SOURCES = ("translations.jsonl", "contrast.jsonl")
"""Files of ``data_dir`` read for labelled sentences besides ``sources/*.jsonl``."""


def sentence_sha1(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_corpus(path: str | Path) -> tuple[list[str], np.ndarray]:
    """The English sentences (surrounding quotes and spaces removed) and their strength names."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    sentences = [" ".join(row["sentence"].strip().strip('"').split()) for row in rows]
    return sentences, np.array([CORPUS_LABELS[int(row["label"])] for row in rows])


def read_texts(data_dir: Path, ids: set[str]) -> dict[str, str]:
    """The raw ``text`` of every wanted id, from ``sources/*.jsonl`` and :data:`EXTRA_SOURCES` of ``data_dir``."""
    texts = {}
    for path in [*sorted((data_dir / "sources").glob("*.jsonl")), *(data_dir / name for name in EXTRA_SOURCES)]:
        if path.exists():
            texts.update({doc["id"]: doc["text"] for doc in read_jsonl(path) if doc["id"] in ids})
    missing = ids - set(texts)
    if missing:
        raise PagetagError(f"{len(missing)} labelled ids not found under {data_dir}, e.g. {sorted(missing)[0]}")
    return texts


def labelled_sentences(labels_path: Path, data_dir: Path) -> list[dict]:
    """The rows of ``claims.labels`` with their sentence re-read from the corpus (SHA-1 checked)."""
    rows = read_jsonl(labels_path)
    texts = read_texts(data_dir, {row["id"] for row in rows})
    for row in rows:
        row["sentence"] = texts[row["id"]][row["start"]:row["end"]]
        if sentence_sha1(row["sentence"]) != row["sha1"]:
            raise PagetagError(f"{labels_path}: the text of {row['id']} [{row['start']}:{row['end']}] has changed")
    return rows


class ClaimStrengthClassifier(BaseEstimator, ClassifierMixin):
    """Concept-gram vocabulary + standardised, block-weighted features + logistic regression.

    ``X`` holds ``(sentence, embedding)`` pairs (:func:`pairs`). Fitting learns the vocabulary of concept
    grams seen in at least ``min_df`` training sentences, standardises every column, then multiplies the
    embedding columns by ``emb_weight`` and the rule one-hot by ``rule_weight`` (a lower weight is a
    stronger penalty on that block: the embedding carries language identity and transfers worst).
    """

    def __init__(self, C: float = 0.004, max_gap: int = 3, min_df: int = 4, emb_weight: float = 0.3,
                 rule_weight: float = 3.0, seed: int = 0):
        self.C = C
        self.max_gap = max_gap
        self.min_df = min_df
        self.emb_weight = emb_weight
        self.rule_weight = rule_weight
        self.seed = seed

    def _features(self, X) -> np.ndarray:
        sentences, vectors = zip(*X)
        return claim_features(np.stack(vectors), list(sentences), self.vocabulary_, self.max_gap)

    def _standardised(self, X) -> np.ndarray:
        return (self._features(X) - self.mean_) / self.scale_

    def fit(self, X, y, sample_weight=None):
        counts: dict[str, int] = {}
        for sentence, _ in X:
            for gram in concept_grams(sentence, self.max_gap):
                counts[gram] = counts.get(gram, 0) + 1
        self.vocabulary_ = sorted(g for g, n in counts.items() if n >= self.min_df)
        features = self._features(X)
        scaler = StandardScaler().fit(features)
        weights = np.ones(features.shape[1])
        weights[:len(X[0][1])] = self.emb_weight
        weights[-len(STRENGTHS):] = self.rule_weight
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_ / weights  # weighting folded into the scale
        self.classifier_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000,
                                              random_state=self.seed)
        self.classifier_.fit((features - self.mean_) / self.scale_, y, sample_weight=sample_weight)
        self.classes_ = self.classifier_.classes_
        return self

    def decision_function(self, X):
        return self.classifier_.decision_function(self._standardised(X))

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def pairs(sentences: list[str], vectors: np.ndarray) -> np.ndarray:
    """The estimator input: an object array of ``(sentence, embedding)`` pairs (indexable by row arrays)."""
    X = np.empty(len(sentences), dtype=object)
    for i, pair in enumerate(zip(sentences, vectors)):
        X[i] = pair
    return X


def cross_validated(model, X, y, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold predictions of ``model`` over ``folds`` stratified folds."""
    pred = np.empty(len(y), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        pred[test] = clone(model).fit(X[train], y[train]).predict(X[test])
    return pred.astype(str)


def strength_classifier(p: dict, C: float | None = None) -> ClaimStrengthClassifier:
    """The classifier configured by the ``claims`` params (C from the grid's first value unless given)."""
    return ClaimStrengthClassifier(C=C or p["grid"]["C"][0], max_gap=p["max_gap"], min_df=p["min_df"],
                                   emb_weight=p["emb_weight"], rule_weight=p["rule_weight"], seed=p["seed"])


def fr_de_cross_validated(model, X_en, y_en, X, y, groups, p: dict) -> np.ndarray:
    """Predictions for the French/German sentences, page-grouped folds: English + the other folds train."""
    pred = np.empty(len(y), dtype=object)
    for train, test in GroupKFold(p["folds"]).split(np.zeros(len(y)), y, groups):
        weights = np.r_[np.ones(len(y_en)), np.full(len(train), float(p["fr_de_weight"]))]
        fitted = clone(model).fit(np.concatenate([X_en, X[train]]), np.r_[y_en, y[train]], sample_weight=weights)
        pred[test] = fitted.predict(X[test])
    return pred.astype(str)


def nested_cv(X, y, grid: list[float], p: dict) -> tuple[np.ndarray, list[float]]:
    """Outer ``folds``-fold predictions, each fold's C chosen by an inner cross-validation on its training part."""
    base = strength_classifier(p)
    pred, chosen = np.empty(len(y), dtype=object), []
    outer = StratifiedKFold(p["folds"], shuffle=True, random_state=p["seed"])
    for train, test in tqdm(list(outer.split(np.zeros(len(y)), y)), desc="claims: nested CV", unit="fold"):
        inner = {C: f1_score(y[train], cross_validated(clone(base).set_params(C=C), X[train], y[train],
                                                         p["inner_folds"], p["seed"]), average="macro")
                 for C in grid}
        best = max(grid, key=lambda C: (inner[C], -C))
        chosen.append(best)
        pred[test] = clone(base).set_params(C=best).fit(X[train], y[train]).predict(X[test])
    return pred.astype(str), chosen


def export(model: TemperatureScaledClassifier, p: dict, path: Path) -> dict:
    """Write the fitted model as the plain arrays :class:`ClaimModel` reads; return them."""
    fitted = model.estimator_
    lr = fitted.classifier_
    arrays = {
        "classes": np.array(lr.classes_, dtype=str), "mean": fitted.mean_, "scale": fitted.scale_,
        "coef": lr.coef_, "intercept": lr.intercept_, "temperature": np.float64(model.temperature_),
        "vocabulary": np.array(fitted.vocabulary_, dtype=str), "phrase_features": np.array(PHRASE_FEATURES),
        "max_gap": np.int64(fitted.max_gap), "embedder": np.array(p["embedder"]),
        **{key: np.float64(p[key]) for key in ("max_chars", "max_sentences", "flag_min_score",
                                                 "flag_min_level_score", "flag_lead_chars")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def strength_scores(y, pred) -> dict:
    labels = [s for s in STRENGTHS if s in set(y) | set(pred)]
    return {"n": int(len(y)), "macro_f1": round(f1_score(y, pred, average="macro", labels=labels), 4),
            "accuracy": round(accuracy_score(y, pred), 4),
            "per_class": {k: {m: round(v, 4) for m, v in d.items()} for k, d in classification_report(
                y, pred, labels=labels, output_dict=True, zero_division=0).items() if k in labels},
            "confusion": {"labels": labels, "matrix": confusion_matrix(y, pred, labels=labels).tolist()}}


def detector_scores(rows: list[dict]) -> dict:
    """Precision/recall of :func:`is_finding` against the labelled ``finding`` field."""
    truth = np.array([row["finding"] for row in rows], dtype=bool)
    found = np.array([is_finding(row["sentence"]) for row in rows], dtype=bool)
    tp = int((truth & found).sum())
    return {"n": len(rows), "findings": int(truth.sum()), "detected": int(found.sum()), "true_positives": tp,
            "precision": round(tp / max(found.sum(), 1), 4), "recall": round(tp / max(truth.sum(), 1), 4)}


def flag_precision(path: Path) -> dict:
    """Share of checked flags judged right, overall and per kind."""
    rows = read_jsonl(path) if path.exists() else []
    out = {"pages": len({row["id"] for row in rows}), "flags": len(rows),
           "right": sum(row["verdict"] == "right" for row in rows)}
    out["precision"] = round(out["right"] / max(out["flags"], 1), 4)
    for kind in sorted({row["kind"] for row in rows}):
        sub = [row for row in rows if row["kind"] == kind]
        out[kind] = {"flags": len(sub), "right": sum(row["verdict"] == "right" for row in sub)}
    return out


def plot_confusion(scores: dict, title: str, path: Path) -> None:
    labels, cm = scores["confusion"]["labels"], np.array(scores["confusion"]["matrix"])
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i, j in np.ndindex(cm.shape):
        ax.text(j, i, cm[i, j], ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="actual", title=f"{title} (n={scores['n']}, macro-F1 {scores['macro_f1']})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    p, data_dir = params["claims"], Path(params["data_dir"])
    if not Path(p["corpus"]).exists():
        raise SystemExit(f"claims: {p['corpus']} not found (the stage needs ../shared)")
    embedder = load_embedder(p["embedder"], direct=True)
    sentences, y = read_corpus(p["corpus"])
    X = pairs(sentences, embedder.encode(sentences, batch_size=256))
    pred, chosen = nested_cv(X, y, p["grid"]["C"], p)
    C = max(set(chosen), key=lambda c: (chosen.count(c), -c))
    metrics = {"english_cv": {**strength_scores(y, pred), "folds": p["folds"], "C_per_fold": chosen, "final_C": C},
               "english_rule_baseline": strength_scores(y, np.array([rule_strength(s) for s in sentences]))}
    print(f"claims: English nested {p['folds']}-fold macro-F1 {metrics['english_cv']['macro_f1']} (C per fold {chosen})")

    rows = labelled_sentences(Path(p["labels"]), data_dir)
    labelled = [row for row in rows if row["finding"] and row["label"]]  # unclear findings have no label
    dev = [row for row in labelled if row["sample"] != "test"]
    test = [row for row in labelled if row["sample"] == "test"]
    X_dev = pairs([row["sentence"] for row in dev], embedder.encode([row["sentence"] for row in dev]))
    y_dev = np.array([row["label"] for row in dev])
    base = strength_classifier(p, C)
    metrics["fr_de_zero_shot"] = strength_scores(y_dev, clone(base).fit(X, y).predict(X_dev))
    cv_pred = fr_de_cross_validated(base, X, y, X_dev, y_dev, np.array([row["id"] for row in dev]), p)
    metrics["fr_de_cv"] = {**strength_scores(y_dev, cv_pred), "per_language": {
        lang: strength_scores(y_dev[mask], cv_pred[mask])["macro_f1"]
        for lang in ("fr", "de") for mask in [np.array([row["lang"] == lang for row in dev])]}}
    metrics["fr_de_rule_baseline"] = strength_scores(y_dev, np.array([rule_strength(r["sentence"]) for r in dev]))

    final = TemperatureScaledClassifier(base, folds=p["folds"], seed=p["seed"])
    final.fit(np.concatenate([X, X_dev]), np.r_[y, y_dev],
              sample_weight=np.r_[np.ones(len(y)), np.full(len(y_dev), float(p["fr_de_weight"]))])
    model = ClaimModel(export(final, p, Path(p["out"])))
    metrics["model"] = {"C": C, "temperature": round(model.temperature, 4), "vocabulary": len(model.vocabulary),
                        "trained_on": {"english": len(y), "fr_de": len(y_dev)}}
    if test:
        texts = [row["sentence"] for row in test]
        proba = model.predict_proba(model.features(embedder.encode(texts), texts))
        metrics["fr_de_test"] = strength_scores(np.array([row["label"] for row in test]),
                                                np.array(model.classes)[proba.argmax(axis=1)])
    metrics["finding_detector"] = {"random_sample": detector_scores([r for r in rows if r["sample"] == "random"]),
                                   "candidates": detector_scores([r for r in rows if r["sample"] == "candidate"])}
    metrics["flags"] = flag_precision(Path(p["flag_checks"]))
    print(f"claims: French/German macro-F1 zero-shot {metrics['fr_de_zero_shot']['macro_f1']}, page-grouped CV "
          f"{metrics['fr_de_cv']['macro_f1']}, fresh test {metrics.get('fr_de_test', {}).get('macro_f1')}; "
          f"detector on the random sample P {metrics['finding_detector']['random_sample']['precision']} "
          f"R {metrics['finding_detector']['random_sample']['recall']}")

    Path(p["metrics_out"]).parent.mkdir(parents=True, exist_ok=True)
    Path(p["metrics_out"]).write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    plots = Path(p["plots_dir"])
    plots.mkdir(parents=True, exist_ok=True)
    plot_confusion(metrics["english_cv"], f"English, nested {p['folds']}-fold CV", plots / "claims_confusion_en.png")
    plot_confusion(metrics["fr_de_cv"], "French + German, page-grouped CV", plots / "claims_confusion_fr_de.png")
    with open(plots / "claims_predictions.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["set", "actual", "predicted"])
        writer.writerows([("en_cv", a, b) for a, b in zip(y, pred)] + [("fr_de_cv", a, b) for a, b in
                                                                      zip(y_dev, cv_pred)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
