"""The fitted heads as plain arrays, for prediction with numpy alone (no scikit-learn, scipy or pandas).

Every head is linear once fitted: language centring of the embeddings (a per-language mean, then unit
length), standard scaling (and clipping) of the cheap and page features, a logistic-regression weight matrix and one
calibration temperature; the text vote (a TF-IDF character n-gram logistic regression whose probabilities are
blended in with a per-head weight) is a vocabulary, idf weights and one weight matrix per head.
:func:`export_heads` (train stage) reads those numbers out of the scikit-learn Pipelines into
``models/pagetag_heads.npz``; :class:`LinearHeads` (`pagetag classify`) computes the same probabilities
from feature arrays and texts. The joblib Pipelines stay the reference and what `evaluate`
uses; ``tests/test_linear_heads.py`` checks both agree to 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.labels import HEADS

HEADS_FILE = "pagetag_heads.npz"


def export_heads(classifier, path: str | Path) -> Path:
    """Write a :class:`pipeline.model.PageClassifier`'s heads as arrays (temperature or no calibration)."""
    arrays, meta = {}, {"config": classifier.config, "heads": {}}
    for head in HEADS:
        pipeline = classifier.heads[head]
        transformer, final = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
        blocks = []
        for name, fitted, columns in transformer.transformers_:
            if name == "remainder" or fitted == "drop":
                continue
            key = f"{head}/{name}"
            if hasattr(fitted, "means_"):  # LanguageCentering
                langs = sorted(fitted.means_)
                arrays[f"{key}/languages"] = np.array(langs, dtype="U16")
                arrays[f"{key}/means"] = np.stack([fitted.means_[lang] for lang in langs]) if langs \
                    else np.zeros((0, len(fitted.global_mean_)), np.float32)
                arrays[f"{key}/global_mean"] = fitted.global_mean_
                blocks.append({"name": name, "kind": "centre", "enabled": bool(fitted.enabled),
                               "columns": list(columns)[1:]})
            else:  # StandardScaler (ClippedScaler: clipped after scaling)
                arrays[f"{key}/mean"], arrays[f"{key}/scale"] = fitted.mean_, fitted.scale_
                blocks.append({"name": name, "kind": "scale", "columns": list(columns),
                               "clip": getattr(fitted, "clip", None)})
        estimator = getattr(final, "estimator_", final)
        if not hasattr(estimator, "coef_"):
            raise ValueError(f"{head}: only temperature or no calibration can be exported, not {type(final).__name__}")
        arrays[f"{head}/coef"], arrays[f"{head}/intercept"] = estimator.coef_, estimator.intercept_
        meta["heads"][head] = {"classes": [str(c) for c in final.classes_], "blocks": blocks,
                               "temperature": float(getattr(final, "temperature_", 1.0))}
    if classifier.text_model is not None:
        vectorizer = classifier.text_model["vectorizer"]
        vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        arrays["text/vocabulary"], arrays["text/idf"] = np.array(vocabulary), vectorizer.idf_.astype(np.float32)
        meta["text"] = {"ngram_range": list(vectorizer.ngram_range)}
        for head, model in classifier.text_model["heads"].items():
            arrays[f"{head}/text_coef"] = model.coef_.astype(np.float32)
            arrays[f"{head}/text_intercept"] = model.intercept_
            meta["heads"][head]["text_classes"] = [str(c) for c in model.classes_]
    path = Path(path)
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


class LinearHeads:
    """Per-head calibrated probabilities from feature arrays, with numpy only."""

    def __init__(self, path: str | Path):
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            self.arrays = {key: data[key] for key in data.files if key != "meta"}
        self.config = meta["config"]
        self.heads = meta["heads"]
        self.text = meta.get("text")
        self.vocabulary = {gram: i for i, gram in enumerate(self.arrays["text/vocabulary"].tolist())} \
            if self.text else {}

    def classes(self, head: str) -> list[str]:
        return self.heads[head]["classes"]

    def predict_proba(self, languages: list[str], blocks: dict[str, np.ndarray],
                      texts: list[str] | None = None) -> dict[str, np.ndarray]:
        """Per head, probabilities (rows: documents; columns: :meth:`classes`).

        ``blocks`` maps each feature block (``embedding``, ``tail``, ``cheap``, ``page``) to its matrix,
        columns in the order of :func:`pipeline.model.column_groups` (the order they were trained in);
        ``texts`` (clean texts) feed the text vote of the heads that have one. Evidence level's
        ``not_applicable`` follows topic's ``non_health`` as in :meth:`pipeline.model.PageClassifier.predict_proba`.
        """
        langs = np.asarray(languages, dtype=str)
        proba = {head: self._head_proba(head, langs, blocks) for head in HEADS}
        rows = [self._tfidf_row(text[:self.config["max_chars"]]) for text in texts] \
            if text_votes(self.config) and texts is not None else None
        return combine_heads(proba, self.config, self.classes, lambda head: self._text_proba(head, rows), texts)

    def contributions(self, head: str, block_name: str, block: np.ndarray, label: str) -> dict[str, float] | None:
        """How much each column of one scaled block (one document's row) raises ``label``'s score over the
        average label's score; None when ``head`` does not use the block."""
        offset = 0
        for spec in self.heads[head]["blocks"]:
            width = len(spec["columns"])
            if spec["name"] == block_name and spec["kind"] == "scale":
                key = f"{head}/{block_name}"
                z = np.clip((np.asarray(block, dtype=np.float64) - self.arrays[f"{key}/mean"]) / self.arrays[f"{key}/scale"],
                            -(spec.get("clip") or np.inf), spec.get("clip") or np.inf)
                weights = self.arrays[f"{head}/coef"][:, offset:offset + width]
                if weights.shape[0] == 1:
                    weights = np.vstack([-weights, weights])
                k = self.classes(head).index(label)
                return dict(zip(spec["columns"], (weights[k] - weights.mean(axis=0)) * z))
            offset += width
        return None

    def _tfidf_row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's TF-IDF vector (sublinear tf, l2 norm) as (vocabulary indices, values)."""
        counts: dict[int, int] = {}
        for gram in char_wb_ngrams(text, *self.text["ngram_range"]):
            index = self.vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        index = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) \
            * self.arrays["text/idf"][index]
        return index, values / max(float(np.linalg.norm(values)), 1e-12)

    def _text_proba(self, head: str, rows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """The text vote's probabilities, columns in :meth:`classes` order."""
        coef = self.arrays[f"{head}/text_coef"]
        scores = np.stack([coef[:, index] @ values for index, values in rows]) + self.arrays[f"{head}/text_intercept"]
        if scores.shape[1] == 1:  # binary logistic regression: P(second class) = sigmoid(score)
            scores = np.hstack([np.zeros_like(scores), scores])
        order = [self.heads[head]["text_classes"].index(c) for c in self.classes(head)]
        return softmax(scores)[:, order]

    def _head_proba(self, head: str, langs: np.ndarray, blocks: dict[str, np.ndarray]) -> np.ndarray:
        spec, parts = self.heads[head], []
        for block in spec["blocks"]:
            key = f"{head}/{block['name']}"
            x = np.asarray(blocks[block["name"]], dtype=np.float64)
            if x.shape[1] != len(block["columns"]):
                raise ValueError(f"{head}: block {block['name']} needs {len(block['columns'])} columns, got {x.shape[1]}")
            if block["kind"] == "scale":
                x = (x - self.arrays[f"{key}/mean"]) / self.arrays[f"{key}/scale"]
                parts.append(x if block.get("clip") is None else np.clip(x, -block["clip"], block["clip"]))
            elif block["enabled"]:
                known = {lang: i for i, lang in enumerate(self.arrays[f"{key}/languages"].tolist())}
                means = self.arrays[f"{key}/means"]
                centre = np.stack([means[known[lang]] if lang in known else self.arrays[f"{key}/global_mean"]
                                   for lang in langs]) if len(langs) else x
                x = x - centre
                parts.append(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))
            else:
                parts.append(x)
        scores = np.hstack(parts) @ self.arrays[f"{head}/coef"].T + self.arrays[f"{head}/intercept"]
        if scores.shape[1] == 1:
            scores = np.hstack([-scores, scores])
        return softmax(scores / spec["temperature"])


def text_votes(config: dict) -> dict[str, float]:
    """The heads that blend in a text vote, with its weight."""
    return {head: weight for head, weight in (config.get("text_vote") or {}).items() if weight}


def combine_heads(proba: dict[str, np.ndarray], config: dict, classes, vote, texts) -> dict[str, np.ndarray]:
    """The final per-head probabilities, as both prediction paths compute them from the heads' own ``proba``:
    each voting head blends in ``vote(head)`` (its text vote's probabilities in ``classes(head)`` order) with
    the blend's temperature, then evidence level's ``not_applicable`` follows topic's ``non_health`` when the
    config says so. ``texts`` are only checked: a vote needs them."""
    votes = text_votes(config)
    if votes and texts is None:
        raise ValueError("these heads blend in a text vote: pass the clean texts")
    temperatures = config.get("text_vote_temperature") or {}
    for head, weight in votes.items():
        proba[head] = blend(proba[head], vote(head), weight, temperatures.get(head, 1.0))
    if config.get("couple_not_applicable"):
        proba["evidence_level"] = couple_not_applicable(proba["evidence_level"], classes("evidence_level"),
                                                        proba["topic"], classes("topic"))
    return proba


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """scikit-learn's ``char_wb`` analyzer on lowercased text: the character n-grams of each word padded
    with one space on either side (a word shorter than n counts once, whole)."""
    grams = []
    for word in text.lower().split():
        word = f" {word} "
        for n in range(min_n, max_n + 1):
            if len(word) <= n:
                grams.append(word)
                break
            grams.extend(word[i:i + n] for i in range(len(word) - n + 1))
    return grams


def blend(proba: np.ndarray, vote: np.ndarray, weight: float, temperature: float = 1.0) -> np.ndarray:
    """A head's probabilities with the text vote's blended in (``weight`` of the vote), recalibrated by
    ``temperature`` (an average of two models is less sure than either: the train stage fits it on
    validation). Rows sum to 1; the temperature keeps each row's ranking."""
    mixed = (1.0 - weight) * proba + weight * vote
    return mixed if temperature == 1.0 else softmax(np.log(np.clip(mixed, 1e-12, None)) / temperature)


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def couple_not_applicable(evidence: np.ndarray, evidence_classes: list[str], topic: np.ndarray,
                          topic_classes: list[str]) -> np.ndarray:
    """A page that is not about health makes no health claim: raise P(not_applicable) to P(non_health).

    Row-wise, ``not_applicable`` gets ``max(P(not_applicable), P(non_health))`` and the other evidence
    labels are scaled to share the rest, so each row still sums to 1 and their order is kept.
    """
    if "not_applicable" not in evidence_classes or "non_health" not in topic_classes:
        return evidence
    na = evidence_classes.index("not_applicable")
    old = evidence[:, na]
    new = np.maximum(old, topic[:, topic_classes.index("non_health")])
    rest = 1.0 - old
    out = evidence * np.where(rest > 0, (1.0 - new) / np.maximum(rest, 1e-12), 0.0)[:, None]
    out[:, na] = new
    return out
