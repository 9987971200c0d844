"""The fitted heads as plain arrays, for prediction with numpy alone (no scikit-learn, scipy or pandas).

Every head is linear once fitted: language centring of the embeddings (a per-language mean, then unit
length), standard scaling (and clipping) of the cheap and page features, a logistic-regression weight matrix and one
calibration temperature. :func:`export_heads` (train stage) reads those numbers out of the scikit-learn
Pipelines into ``models/pagetag_heads.npz``; :class:`LinearHeads` (`pagetag classify`) computes the
same probabilities from feature arrays. The joblib Pipelines stay the reference and what `evaluate`
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

    def classes(self, head: str) -> list[str]:
        return self.heads[head]["classes"]

    def predict_proba(self, languages: list[str], blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per head, probabilities (rows: documents; columns: :meth:`classes`).

        ``blocks`` maps each feature block (``embedding``, ``tail``, ``cheap``, ``page``) to its matrix,
        columns in the order of :func:`pipeline.model.column_groups` (the order they were trained in).
        Evidence level's ``not_applicable`` follows topic's ``non_health`` as in
        :meth:`pipeline.model.PageClassifier.predict_proba`.
        """
        langs = np.asarray(languages, dtype=str)
        proba = {head: self._head_proba(head, langs, blocks) for head in HEADS}
        if self.config.get("couple_not_applicable"):
            proba["evidence_level"] = couple_not_applicable(proba["evidence_level"], self.classes("evidence_level"),
                                                            proba["topic"], self.classes("topic"))
        return proba

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
