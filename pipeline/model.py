"""Features and estimators shared by training and prediction.

A document is one row of a DataFrame: its detected language, its head embedding (``e0`` … ``eN``),
its tail embedding (``t0`` … ``tN``), the cleaner's stats (``stat_*``), the cue counts (``cue_*``) and
the page-evidence features of its HTML (``page_*``, all 0 for plain text). Each head is a
scikit-learn Pipeline: language centring of the embeddings + scaling of the cheap and page features →
logistic regression → probability calibration (temperature scaling by default). Everything fitted
lives in the Pipeline (no hidden state); :mod:`pipeline.linear_heads` exports it to plain arrays for
prediction with numpy alone.
"""

from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.cues import FEATURE_NAMES as CUE_FEATURES
from pipeline.labels import HEADS
from pipeline.linear_heads import combine_heads, softmax, text_votes
from pipeline.page_features import FEATURE_NAMES as PAGE_FEATURES

FEATURE_SETS = ("embedding", "features", "embedding+features")
VIEWS = ("tail", "page")  # optional feature blocks on top of a feature set


class LanguageCentering(BaseEstimator, TransformerMixin):
    """Subtract each language's mean embedding (fitted on training rows), removing language identity.

    Input: a DataFrame whose first column is the language and the rest the embedding. Languages with
    fewer than ``min_docs`` training rows, and languages unseen at fit time, use the global mean.
    """

    def __init__(self, min_docs: int = 20, enabled: bool = True):
        self.min_docs = min_docs
        self.enabled = enabled

    def fit(self, X, y=None):
        langs, emb = _split_lang(X)
        self.global_mean_ = emb.mean(axis=0)
        self.means_ = {}
        for lang in np.unique(langs):
            rows = langs == lang
            if rows.sum() >= self.min_docs:
                self.means_[lang] = emb[rows].mean(axis=0)
        return self

    def transform(self, X):
        langs, emb = _split_lang(X)
        if not self.enabled:
            return emb
        centres = np.stack([self.means_.get(lang, self.global_mean_) for lang in langs]) if len(langs) else emb
        out = emb - centres
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class ClippedScaler(StandardScaler):
    """Standard scaling, then values clipped to ``±clip``.

    A rare binary feature (a cue seen on one page in a thousand) would otherwise scale to ±30 and
    let one word or one tag outvote the whole embedding.
    """

    def __init__(self, clip: float = 5.0):
        super().__init__()
        self.clip = clip

    def transform(self, X, copy=None):
        return np.clip(super().transform(X, copy=copy), -self.clip, self.clip)


class TemperatureScaledClassifier(BaseEstimator, ClassifierMixin):
    """Calibrate a classifier's probabilities with one temperature on its decision scores.

    The temperature is fitted (minimum log-loss) on out-of-fold scores, then the estimator is refitted
    on all rows. Unlike per-class sigmoid or isotonic calibration, one temperature never changes which
    label ranks first, so class balancing done in training survives calibration.
    """

    def __init__(self, estimator, folds: int = 3, seed: int = 0):
        self.estimator = estimator
        self.folds = folds
        self.seed = seed

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        cv = StratifiedKFold(self.folds, shuffle=True, random_state=self.seed)
        scores = np.zeros((len(y), len(np.unique(y))))
        for train, test in cv.split(X, y):
            model = clone(self.estimator).fit(_rows(X, train), y[train], sample_weight=_rows(sample_weight, train))
            scores[test] = _scores(model, _rows(X, test))
        self.classes_ = np.unique(y)
        self.temperature_ = fit_temperature(scores, np.searchsorted(self.classes_, y))
        self.estimator_ = clone(self.estimator).fit(X, y, sample_weight=sample_weight)
        return self

    def decision_function(self, X):
        return _scores(self.estimator_, X)

    def predict_proba(self, X):
        return softmax(self.decision_function(X) / self.temperature_)

    def predict(self, X):
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def _rows(X, idx):
    if X is None:
        return None
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _scores(model, X) -> np.ndarray:
    scores = model.decision_function(X)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


def fit_temperature(scores: np.ndarray, target: np.ndarray) -> float:
    """The temperature t that minimises the negative log-likelihood of ``softmax(scores / t)`` for the
    class indices ``target``."""
    return float(minimize_scalar(lambda t: _nll(scores / t, target), bounds=(0.05, 20), method="bounded").x)


def _nll(z: np.ndarray, target: np.ndarray) -> float:
    return float(-np.log(np.clip(softmax(z)[np.arange(len(target)), target], 1e-12, None)).mean())


def _split_lang(X) -> tuple[np.ndarray, np.ndarray]:
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    return frame.iloc[:, 0].astype(str).to_numpy(), frame.iloc[:, 1:].to_numpy(dtype=np.float32)


def feature_frame(embeddings: np.ndarray, languages: list[str], stats: list[dict], cues: list[list[float]],
                  stat_keys: tuple[str, ...], tail: np.ndarray | None = None,
                  pages: list[dict] | None = None) -> pd.DataFrame:
    """The model input: one row per document with language, embeddings, cleaner stats, cues and page evidence.

    ``cues`` holds each document's :func:`pipeline.cues.cue_features`; ``tail`` the tail embeddings
    (zeros when absent); ``pages`` each document's :func:`pipeline.page_features.page_evidence` (or None).
    """
    dim = embeddings.shape[1]
    emb = pd.DataFrame(embeddings, columns=[f"e{i}" for i in range(dim)])
    tail = pd.DataFrame(tail if tail is not None else np.zeros_like(embeddings), columns=[f"t{i}" for i in range(dim)])
    stat = pd.DataFrame([[float(s.get(k, 0.0)) for k in stat_keys] for s in stats],
                        columns=[f"stat_{k}" for k in stat_keys])
    cue = pd.DataFrame(list(cues), columns=list(CUE_FEATURES), dtype=float)
    page = pd.DataFrame([[float((p or {}).get(k, 0.0)) for k in PAGE_FEATURES] for p in (pages or [None] * len(emb))],
                        columns=list(PAGE_FEATURES))
    return pd.concat([pd.DataFrame({"lang": list(languages)}), emb, tail, stat, cue, page], axis=1)


def column_groups(columns) -> dict[str, list[str]]:
    """Column names of each feature block: head embedding, tail embedding, cheap features, page evidence."""
    columns = list(columns)
    return {
        "embedding": [c for c in columns if c[0] == "e" and c[1:].isdigit()],
        "tail": [c for c in columns if c[0] == "t" and c[1:].isdigit()],
        "cheap": [c for c in columns if c.startswith(("stat_", "cue_"))],
        "page": [c for c in columns if c.startswith("page_")],
    }


def make_estimator(feature_set: str, *, C: float, class_weight: str | None, center_languages: bool,
                   calibration: str, calibration_folds: int, seed: int, columns: list[str],
                   views: tuple[str, ...] = ()) -> Pipeline:
    """Build one head's Pipeline for a feature set (see FEATURE_SETS) plus optional ``views`` (see VIEWS)."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set must be one of {FEATURE_SETS}, not {feature_set!r}")
    if set(views) - set(VIEWS):
        raise ValueError(f"views must be among {VIEWS}, not {views!r}")
    cols = column_groups(columns)
    parts = []
    if feature_set != "features":
        parts.append(("embedding", LanguageCentering(enabled=center_languages), ["lang", *cols["embedding"]]))
        if "tail" in views:
            parts.append(("tail", LanguageCentering(enabled=center_languages), ["lang", *cols["tail"]]))
    if feature_set != "embedding":
        parts.append(("cheap", ClippedScaler(), cols["cheap"]))
    if "page" in views:
        parts.append(("page", ClippedScaler(), cols["page"]))
    classifier = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000, random_state=seed)
    if calibration == "temperature":
        classifier = TemperatureScaledClassifier(classifier, folds=calibration_folds, seed=seed)
    elif calibration != "none":
        classifier = CalibratedClassifierCV(
            classifier, method=calibration,
            cv=StratifiedKFold(calibration_folds, shuffle=True, random_state=seed))
    return Pipeline([("features", ColumnTransformer(parts)), ("classifier", classifier)])


@dataclass
class HeadPrediction:
    label: str
    score: float
    scores: dict[str, float]

    def as_dict(self) -> dict:
        return {"label": self.label, "score": round(self.score, 4),
                "scores": {k: round(v, 4) for k, v in self.scores.items()}}


class PageClassifier:
    """The three committed heads plus the embedding configuration they were trained with.

    ``text_model`` (optional): ``{"vectorizer": TfidfVectorizer, "heads": {head: LogisticRegression}}``, a
    character n-gram model whose probabilities each head blends in with weight ``config["text_vote"][head]``.
    """

    def __init__(self, heads: dict[str, Pipeline], config: dict, text_model: dict | None = None):
        self.heads = heads
        self.config = config
        self.text_model = text_model

    @classmethod
    def load(cls, model_dir: str | Path) -> "PageClassifier":
        """Load ``<model_dir>/pagetag.joblib`` (written by the train stage)."""
        bundle = joblib.load(Path(model_dir) / "pagetag.joblib")
        return cls(bundle["heads"], bundle["config"], bundle.get("text_model"))

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / "pagetag.joblib"
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"heads": self.heads, "config": self.config, "text_model": self.text_model}, path, compress=3)
        return path

    def classes(self, head: str) -> list[str]:
        return list(self.heads[head].classes_)

    def predict_proba(self, frame: pd.DataFrame, texts: list[str] | None = None) -> dict[str, np.ndarray]:
        """Per head, the calibrated probabilities (columns in ``classes(head)`` order).

        ``texts`` (the clean texts of the frame's rows) feed the text vote of the heads that have one, and
        evidence level follows topic's ``non_health`` when the train stage chose so
        (:func:`pipeline.linear_heads.combine_heads`, shared with the numpy path).
        """
        proba = {head: self.heads[head].predict_proba(frame) for head in HEADS}
        tfidf = self.text_model["vectorizer"].transform([text[:self.config["max_chars"]] for text in texts]) \
            if text_votes(self.config) and texts is not None else None

        def vote(head: str) -> np.ndarray:
            model = self.text_model["heads"][head]
            return model.predict_proba(tfidf)[:, [list(model.classes_).index(c) for c in self.classes(head)]]

        return combine_heads(proba, self.config, self.classes, vote, texts)

    def predict_frame(self, frame: pd.DataFrame, texts: list[str] | None = None) -> list[dict[str, HeadPrediction]]:
        """Per document, the label, its calibrated probability and every label's probability, per head."""
        out = [{} for _ in range(len(frame))]
        probas = self.predict_proba(frame, texts)
        for head in HEADS:
            proba, classes = probas[head], self.classes(head)
            for row, p in zip(out, proba):
                best = int(np.argmax(p))
                row[head] = HeadPrediction(classes[best], float(p[best]), dict(zip(classes, map(float, p))))
        return out
