"""Batch classification: stream inputs through an engine, classify pages as they come, keep input order.

Reading and cleaning run in an engine (:mod:`pipeline.engines`: worker processes by default, threads, or
a dask cluster), one input at a time per worker and each input within its deadline. Embedding and
classification run here, on whatever pages are ready (at most :data:`MICRO_BATCH` per call), and every
outcome is yielded as soon as it and all earlier inputs are done (:func:`classify_inputs`): one slow
input delays the lines after it by at most its deadline, never the whole batch.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np

from pipeline.claims import claim_lines
from pipeline.engines import PageOutcome, in_input_order, open_engine, run_engine
from pipeline.engines import read_and_clean  # noqa: F401 (the per-input step, re-exported for callers)
from pipeline.errors import PagetagError, display_name
from pipeline.labels import HEADS
from pipeline.lang import SUPPORTED_LANGUAGES, UNDETERMINED

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EXAMPLE_SUFFIXES = (".html", ".htm", ".txt")
MICRO_BATCH = 16
"""Most pages embedded and classified in one call."""
LINGER = 0.05
"""Seconds a finished page may wait for others to share its classification call (each call has a fixed cost)."""
TOP_SENTENCES = 3
MAX_EXPLAIN_SENTENCES = 40
MIN_SENTENCE_WORDS = 4
_SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?…])\s+|\n+")
_HARD_WRAP = re.compile(r"(?<=[\w,;)%-])\n(?=[a-zß-öø-ÿ0-9(])")
"""A line break inside a sentence (hard-wrapped plain text): no sentence end before, lowercase after."""


def example_inputs() -> list[str]:
    """Paths of the built-in example pages (used when ``pagetag classify`` gets no input)."""
    return [str(path) for path in sorted(EXAMPLES_DIR.iterdir()) if path.suffix in EXAMPLE_SUFFIXES]


def read_input_list(path: str) -> Iterator[str]:
    """Inputs listed one per line in ``path``, read lazily (a list may be larger than memory).

    Blank lines and lines starting with ``#`` are skipped. A file name is taken exactly as written
    (spaces included; bytes that are not UTF-8 kept as in ``os.fsdecode``); a URL loses surrounding spaces.
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise PagetagError(f"cannot read input list {display_name(path)}: {exc.strerror or exc}") from None
    return _listed_inputs(handle)


def _listed_inputs(handle: BinaryIO) -> Iterator[str]:
    with handle:
        for raw in handle:
            line = os.fsdecode(raw.rstrip(b"\r\n"))
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            yield stripped if stripped.lower().startswith(("http://", "https://")) else line


# --- classification --------------------------------------------------------------------------

def classify_batch(predictor, outcomes: list[PageOutcome], *, explain: bool = False,
                   strict_language: bool = False) -> list[PageOutcome]:
    """Fill ``prediction`` (and ``explanation``) of every clean outcome.

    A page in a language the embedder does not cover is classified anyway with a warning, or becomes
    an error with ``strict_language``.
    """
    ready = []
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        language = outcome.page.language
        if not predictor.covers_language(language):
            if strict_language:
                outcome.error, outcome.page = (f"language {language!r} is not supported by the embedder (supported: "
                                               f"{', '.join(sorted(SUPPORTED_LANGUAGES))})"), None
                continue
            outcome.warnings.append("language could not be identified" if language == UNDETERMINED
                                    else f"language {language} not covered by the embedder")
        ready.append(outcome)
    predictions = predictor.classify([o.page for o in ready])
    for outcome, prediction in zip(ready, predictions):
        outcome.prediction = prediction
    if explain and ready:
        for outcome, sentences in zip(ready, weighty_sentences(predictor, ready)):
            label = outcome.prediction["labels"]["source_type"]["label"]
            outcome.explanation = {"sentences": sentences, "page_evidence": predictor.page_reasons(outcome.page, label)}
    return outcomes


def classify_inputs(predictor, sources: Iterable[str], *, engine="process", workers: int = 2,
                    timeout: float = 15.0, max_bytes: int = 5_000_000, scheduler: str | None = None,
                    explain: bool = False, strict_language: bool = False, progress: bool = False,
                    total: int | None = None) -> Iterator[PageOutcome]:
    """Read, clean and classify every source; each outcome is yielded, in input order, once it is ready.

    ``engine`` is an engine name (opened here with ``workers``, ``timeout``, ``max_bytes``, ``scheduler``
    and closed when the outcomes are exhausted or the caller stops early) or an engine the caller opened
    with :func:`pipeline.engines.open_engine` (and closes).
    """
    from tqdm import tqdm

    owned = isinstance(engine, str)
    if owned:
        engine = open_engine(engine, workers=workers, timeout=timeout, max_bytes=max_bytes, scheduler=scheduler)

    def classified(group: list[tuple[int, PageOutcome]]) -> list[tuple[int, PageOutcome]]:
        outcomes = [outcome for _, outcome in group]
        for start in range(0, len(outcomes), MICRO_BATCH):
            classify_batch(predictor, outcomes[start:start + MICRO_BATCH], explain=explain,
                           strict_language=strict_language)
        return group

    with engine if owned else contextlib.nullcontext(), tqdm(total=total, unit="page", desc="classify", disable=not progress, leave=False) as bar:
        groups = run_engine(engine, sources, linger=LINGER, group_size=MICRO_BATCH)
        for outcome in in_input_order(classified(group) for group in groups):
            bar.update()
            yield outcome


# --- explanations ----------------------------------------------------------------------------

def split_sentences(text: str) -> list[str]:
    """Sentences and lines of ``text`` (hard-wrapped lines rejoined) with at least :data:`MIN_SENTENCE_WORDS` words."""
    return [s.strip() for s in _SENTENCE_BOUNDARY.split(_HARD_WRAP.sub(" ", text))
            if len(s.split()) >= MIN_SENTENCE_WORDS]


def weighty_sentences(predictor, outcomes: list[PageOutcome], top: int = TOP_SENTENCES) -> list[dict]:
    """Per outcome and head, the sentences that most support the predicted label.

    Each sentence is embedded alone and scored by the heads as if it were the whole page (the page's
    language, cleaner stats and page evidence held fixed, cue features from the sentence itself), with
    the same calibrated probabilities as the prediction: one short embedding per sentence, so
    explaining costs about as much as classifying the page again. Only the first
    :data:`MAX_EXPLAIN_SENTENCES` sentences within the embedded prefix count.
    """
    config = predictor.config
    per_page = [split_sentences(o.page.text[:config["max_chars"]])[:MAX_EXPLAIN_SENTENCES] for o in outcomes]
    sentences = [s for group in per_page for s in group]
    owners = [i for i, group in enumerate(per_page) for _ in group]
    explanations = [{head: [] for head in HEADS} for _ in outcomes]
    if not sentences:
        return explanations
    pages = [outcomes[i].page for i in owners]
    probas = predictor.probabilities(sentences, [p.language for p in pages], [p.stats for p in pages],
                                     [p.page for p in pages])
    owners = np.asarray(owners)
    for head in HEADS:
        proba, classes = probas[head], predictor.heads.classes(head)
        for i, outcome in enumerate(outcomes):
            rows = np.flatnonzero(owners == i)
            column = classes.index(outcome.prediction["labels"][head]["label"])
            best = rows[np.argsort(-proba[rows, column], kind="stable")[:top]]
            explanations[i][head] = [{"text": sentences[r], "score": round(float(proba[r, column]), 4)}
                                     for r in best]
    return explanations


# --- output ----------------------------------------------------------------------------------

def json_record(outcome: PageOutcome) -> dict:
    """The ``--json`` line of an outcome (with an ``explain`` object when it was explained)."""
    name = display_name(outcome.input)
    if outcome.error is not None:
        return {"input": name, "error": display_name(outcome.error)}
    page, prediction = outcome.page, outcome.prediction
    record = {"input": name, "title": page.title, "language": page.language,
              "labels": prediction["labels"], "evidence_cues": prediction["evidence_cues"],
              "claims": prediction["claims"], "flags": prediction["flags"],
              "removed": len(page.removed), "warnings": outcome.warnings, "error": None}
    if outcome.explanation is not None:
        record["explain"] = {"removed": [{"text": r.text, "reason": r.reason, "signals": r.signals} for r in page.removed],
                             **outcome.explanation}
    return record


_COLUMNS = (("INPUT", 34), ("LANG", 5), ("SOURCE TYPE", 20), ("EVIDENCE LEVEL", 25), ("TOPIC", 19))


def table_header() -> str:
    """Header line of the readable table."""
    return "".join(name.ljust(width) for name, width in _COLUMNS).rstrip()


def table_row(outcome: PageOutcome) -> str:
    """One classified outcome as a table line: input, language and each head's label with its score."""
    (_, input_width), (_, lang_width), *label_columns = _COLUMNS
    labels = outcome.prediction["labels"]
    cells = [shorten(display_name(outcome.input), input_width - 2, keep_end=True).ljust(input_width),
             outcome.page.language.ljust(lang_width)]
    cells += [f"{labels[head]['label']} {labels[head]['score']:.2f}".ljust(width)
              for head, (_, width) in zip(HEADS, label_columns)]
    return "".join(cells).rstrip()


def explanation_lines(outcome: PageOutcome, width: int = 110) -> list[str]:
    """The ``--explain`` block printed under a table row."""
    page, prediction = outcome.page, outcome.prediction
    lines = [f"    title: {page.title or '-'}",
             f"    evidence cues: {', '.join(prediction['evidence_cues']) or 'none'}"]
    lines += [shorten(line, width) for line in claim_lines(prediction)]
    lines.append(f"    removed boilerplate: {len(page.removed)}")
    lines += [shorten(f"      [{item.reason}] {item.text}", width) for item in page.removed]
    explanation = outcome.explanation or {}
    for head in HEADS:
        lines.append(f"    why {head} = {prediction['labels'][head]['label']}:")
        if head == "source_type":
            lines += [shorten(f"      page: {item['meaning']} (+{item['weight']:.2f})", width)
                      for item in explanation.get("page_evidence", [])]
        lines += [shorten(f"      {item['score']:.2f}  {item['text']}", width)
                  for item in explanation.get("sentences", {}).get(head, [])]
    return lines


def shorten(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` cut to ``width`` characters with an ellipsis; ``keep_end`` keeps the end, from a ``/`` if any."""
    if len(text) <= width:
        return text
    if not keep_end:
        return text[: width - 1] + "…"
    tail = text[1 - width:]
    return "…" + (tail[tail.index("/"):] if "/" in tail else tail)
