"""`claims` stage: train the claim-strength model and measure it, the finding detector and the flags.

1. English: ``claims.corpus`` (3,061 PubMed conclusion sentences, Yu et al. 2019). For every C of the
   grid, 5-fold cross-validated macro-F1 (the concept-gram vocabulary is fitted inside each fold). The
   grid choice is made by an inner cross-validation within each outer training part, so the reported
   English score is a held-out (nested) one.
2. The chosen C is refitted on all English sentences with temperature calibration
   (:class:`pipeline.model.TemperatureScaledClassifier`) and exported to plain numpy arrays
   (``models/claims.npz``, read by :class:`pipeline.claims.ClaimModel`).
3. French/German: the sentences labelled in ``claims.labels`` (ids, character offsets, SHA-1 and labels
   only) are re-read from ``data_dir`` and scored with the exported model: strength macro-F1 on the
   finding sentences, and precision/recall of :func:`pipeline.claims.is_finding`.
4. Flags: precision of the exaggeration flags over the pages checked by reading (``claims.flag_checks``).

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
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from tqdm import tqdm  # noqa: E402

from pipeline.claims import (CORPUS_LABELS, PHRASE_FEATURES, STRENGTHS, ClaimModel, claim_features,  # noqa: E402
                             concept_grams, is_finding)
from pipeline.embed import load_embedder  # noqa: E402
from pipeline.errors import PagetagError  # noqa: E402
from pipeline.model import TemperatureScaledClassifier  # noqa: E402
from pipeline.params import load_params  # noqa: E402

FR_DE_SOURCES = ("sources/frcore.jsonl", "sources/gnad10k.jsonl", "sources/de_web.jsonl", "translations.jsonl",
                 "contrast.jsonl", "sources/fakehealth.jsonl")
"""Files of ``data_dir`` whose texts labelled sentences and checked pages may come from."""


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
    """The raw ``text`` of every wanted id, from the files of :data:`FR_DE_SOURCES`."""
    texts = {}
    for name in FR_DE_SOURCES:
        path = data_dir / name
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
    """Concept-gram vocabulary (fitted on the training sentences) + standardised features + logistic regression.

    ``X`` holds ``(sentence, embedding)`` pairs (:func:`pairs`); fitting learns the vocabulary of concept grams
    seen in at least ``min_df`` training sentences.
    """

    def __init__(self, C: float = 0.002, max_gap: int = 3, min_df: int = 4, seed: int = 0):
        self.C = C
        self.max_gap = max_gap
        self.min_df = min_df
        self.seed = seed

    def _features(self, X) -> np.ndarray:
        sentences, vectors = zip(*X)
        return claim_features(np.stack(vectors), list(sentences), self.vocabulary_, self.max_gap)

    def fit(self, X, y, sample_weight=None):
        counts: dict[str, int] = {}
        for sentence, _ in X:
            for gram in concept_grams(sentence, self.max_gap):
                counts[gram] = counts.get(gram, 0) + 1
        self.vocabulary_ = sorted(g for g, n in counts.items() if n >= self.min_df)
        self.pipeline_ = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(
            C=self.C, class_weight="balanced", max_iter=5000, random_state=self.seed))])
        self.pipeline_.fit(self._features(X), y)
        self.classes_ = self.pipeline_.classes_
        return self

    def decision_function(self, X):
        return self.pipeline_.decision_function(self._features(X))

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


def nested_cv(X, y, grid: list[float], p: dict) -> tuple[np.ndarray, list[float]]:
    """Outer ``folds``-fold predictions, each fold's C chosen by an inner cross-validation on its training part."""
    base = ClaimStrengthClassifier(max_gap=p["max_gap"], min_df=p["min_df"], seed=p["seed"])
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
    scaler, lr = fitted.pipeline_.named_steps["scale"], fitted.pipeline_.named_steps["lr"]
    arrays = {
        "classes": np.array(lr.classes_, dtype=str), "mean": scaler.mean_, "scale": scaler.scale_,
        "coef": lr.coef_, "intercept": lr.intercept_, "temperature": np.float64(model.temperature_),
        "vocabulary": np.array(fitted.vocabulary_, dtype=str), "phrase_features": np.array(PHRASE_FEATURES),
        "max_gap": np.int64(fitted.max_gap), "embedder": np.array(p["embedder"]),
        **{key: np.float64(p[key]) for key in ("max_chars", "max_sentences", "flag_min_score",
                                                 "flag_min_level_score")},
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
    english = strength_scores(y, pred)
    C = max(set(chosen), key=lambda c: (chosen.count(c), -c))
    print(f"claims: English nested {p['folds']}-fold macro-F1 {english['macro_f1']} (C per fold {chosen}; final C={C})")

    final = TemperatureScaledClassifier(ClaimStrengthClassifier(C=C, max_gap=p["max_gap"], min_df=p["min_df"],
                                                                seed=p["seed"]), folds=p["folds"], seed=p["seed"])
    final.fit(X, y)
    model = ClaimModel(export(final, p, Path(p["out"])))

    rows = labelled_sentences(Path(p["labels"]), data_dir)
    findings = [row for row in rows if row["finding"]]
    texts = [row["sentence"] for row in findings]
    proba = model.predict_proba(model.features(embedder.encode(texts), texts))
    fr_de_pred = np.array(model.classes)[proba.argmax(axis=1)]
    fr_de_true = np.array([row["label"] for row in findings])
    fr_de = strength_scores(fr_de_true, fr_de_pred)
    fr_de["per_language"] = {lang: strength_scores(fr_de_true[m], fr_de_pred[m])["macro_f1"] for lang in ("fr", "de")
                             for m in [np.array([row["lang"] == lang for row in findings])] if m.any()}
    detector = {"all": detector_scores(rows),
                "random_sample": detector_scores([row for row in rows if row["sample"] == "random"])}
    print(f"claims: French/German macro-F1 {fr_de['macro_f1']} on {fr_de['n']} finding sentences; detector "
          f"precision {detector['all']['precision']}, recall on the random sample {detector['random_sample']['recall']}")

    metrics = {"english_cv": {**english, "folds": p["folds"], "C_per_fold": chosen, "final_C": C,
                              "temperature": round(float(final.temperature_), 4),
                              "vocabulary": len(model.vocabulary)},
               "fr_de": fr_de, "finding_detector": detector, "flags": flag_precision(Path(p["flag_checks"]))}
    Path(p["metrics_out"]).parent.mkdir(parents=True, exist_ok=True)
    Path(p["metrics_out"]).write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    plots = Path(p["plots_dir"])
    plots.mkdir(parents=True, exist_ok=True)
    plot_confusion(english, f"claim strength, English {p['folds']}-fold CV", plots / "claims_confusion_en.png")
    plot_confusion(fr_de, "claim strength, French + German", plots / "claims_confusion_fr_de.png")
    with open(plots / "claims_predictions.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["set", "actual", "predicted"])
        writer.writerows([("en_cv", a, b) for a, b in zip(y, pred)] + [("fr_de", a, b) for a, b in
                                                                      zip(fr_de_true, fr_de_pred)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
