"""Language identification with py3langid (offline, bundled model)."""

from __future__ import annotations

import functools
import re

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

UNDETERMINED = "und"
# Universal Sentence Encoder multilingual v3 covers 16 languages; zh-cn and zh-tw both map to "zh".
SUPPORTED_LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"})
MIN_LETTERS = 12
MIN_PROBABILITY = 0.5
MAX_CHARS = 5_000

_LETTER = re.compile(r"[^\W\d_]")


@functools.cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


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
