"""Language identification with py3langid (offline, bundled model)."""

from __future__ import annotations

import functools
import pickle
import re

import py3langid
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from pipeline import CACHE_DIR, write_cache_file

UNDETERMINED = "und"
# Universal Sentence Encoder multilingual v3 covers 16 languages; zh-cn and zh-tw both map to "zh".
SUPPORTED_LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"})
MIN_LETTERS = 12
MIN_PROBABILITY = 0.5
MAX_CHARS = 5_000

_LETTER = re.compile(r"[^\W\d_]")


@functools.cache
def _identifier() -> LanguageIdentifier:
    """py3langid's bundled model. Its LZMA file takes ~0.8 s to read, so a pickle of it is cached."""
    cached = CACHE_DIR / f"py3langid-{py3langid.__version__}.pkl"
    if cached.exists():
        return pickle.loads(cached.read_bytes())
    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    write_cache_file(cached, lambda tmp: tmp.write_bytes(pickle.dumps(identifier, protocol=5)))
    return identifier


def normalize_language_code(code: str) -> str:
    """Reduce a language tag such as ``zh-TW`` or ``pt_BR`` to its ISO 639-1 code."""
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0] or UNDETERMINED


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``, or ``"und"`` when it is too short or the guess is unsure."""
    sample = text[:MAX_CHARS]
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return UNDETERMINED
    code, probability = _identifier().classify(sample)
    if probability < MIN_PROBABILITY:
        return UNDETERMINED
    return normalize_language_code(code)
