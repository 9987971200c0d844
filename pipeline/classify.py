"""Batch classification: read and clean many inputs in parallel, then embed and classify in batches.

The per-input step is :func:`read_and_clean` (one URL, file or ``-`` in; a clean page or a one-line
error out; it never raises). Two engines run it over a list of inputs:

* ``threads`` (default): a thread pool in this process; good for network-bound reading, but cleaning
  is CPU-bound and shares the GIL;
* ``datasets``: ``datasets.Dataset.map(clean_record, num_proc=N)``: worker processes (cleaning runs on
  every core) whose Arrow output lives on disk, so a long list does not have to fit in memory.

Embedding and classification always run in the calling process, :data:`BATCH_SIZE` pages at a time,
and results come back in input order (:func:`classify_inputs`).

Moving to a cluster: :func:`clean_record` is a plain, picklable function of one input, so the same
per-item step runs under any scheduler, e.g. with joblib's dask backend (``pip install dask distributed``)::

    from dask.distributed import Client
    from joblib import Parallel, delayed, parallel_config
    client = Client("tcp://scheduler:8786")
    with parallel_config(backend="dask"):            # or backend="spark" after joblibspark.register_spark()
        records = Parallel(n_jobs=-1)(delayed(clean_record)({"input": s}) for s in inputs)

then turn the records into pages with :func:`outcome_from_record` and classify them in batches with
:func:`classify_batch` on each worker that holds a :class:`~pipeline.predict.Predictor` (the models
are a few MB; the embedder is the expensive part, so give every worker its own Predictor and a share
of the records rather than sending all texts back to one node).
"""

from __future__ import annotations

import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from pipeline.claims import claim_lines
from pipeline.clean import CleanResult, Removed, clean_page
from pipeline.cli import one_line
from pipeline.errors import PagetagError
from pipeline.fetch import read_input
from pipeline.labels import HEADS

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EXAMPLE_SUFFIXES = (".html", ".htm", ".txt")
ENGINES = ("threads", "datasets")
BATCH_SIZE = 64
TOP_SENTENCES = 3
MAX_EXPLAIN_SENTENCES = 40
MIN_SENTENCE_WORDS = 4
_SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?…])\s+|\n+")
_HARD_WRAP = re.compile(r"(?<=[\w,;)%-])\n(?=[a-zß-öø-ÿ0-9(])")
"""A line break inside a sentence (hard-wrapped plain text): no sentence end before, lowercase after."""


@dataclass
class PageOutcome:
    """One input on its way through the batch: its clean page or its error, then its prediction."""

    input: str
    page: CleanResult | None = None
    error: str | None = None
    prediction: dict | None = None
    explanation: dict | None = None


def example_inputs() -> list[str]:
    """Paths of the built-in example pages (used when ``pagetag classify`` gets no input)."""
    return [str(path) for path in sorted(EXAMPLES_DIR.iterdir()) if path.suffix in EXAMPLE_SUFFIXES]


def read_input_list(path: str) -> list[str]:
    """Inputs listed one per line in ``path``; blank lines and ``#`` comments are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise PagetagError(f"cannot read input list {path}: {exc.strerror or exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def read_and_clean(source: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000) -> PageOutcome:
    """Read and clean one input; any failure becomes the outcome's one-line ``error``."""
    try:
        return PageOutcome(source, page=clean_page(read_input(source, timeout=timeout, max_bytes=max_bytes)))
    except Exception as exc:  # one bad input must never lose the batch
        return PageOutcome(source, error=one_line(exc))


# --- the datasets engine: outcomes as flat Arrow records ---------------------------------------

def _record_features():
    import datasets

    text = datasets.Value("string")
    return datasets.Features({
        "input": text, "error": text, "title": text, "language": text, "text": text,
        "removed_text": datasets.Sequence(text), "removed_reason": datasets.Sequence(text), "stats": text,
    })


def clean_record(example: dict, timeout: float = 15.0, max_bytes: int = 5_000_000) -> dict:
    """:func:`read_and_clean` for ``{"input": source}``, as a flat record (see :func:`outcome_from_record`)."""
    outcome = read_and_clean(example["input"], timeout=timeout, max_bytes=max_bytes)
    page = outcome.page
    return {
        "input": outcome.input,
        "error": outcome.error,
        "title": page.title if page else None,
        "language": page.language if page else None,
        "text": page.text if page else None,
        "removed_text": [item.text for item in page.removed] if page else [],
        "removed_reason": [item.reason for item in page.removed] if page else [],
        "stats": json.dumps(page.stats) if page else None,
    }


def outcome_from_record(record: dict) -> PageOutcome:
    """The :class:`PageOutcome` a :func:`clean_record` record stands for."""
    if record["error"] is not None:
        return PageOutcome(record["input"], error=record["error"])
    removed = [Removed(text, reason) for text, reason in zip(record["removed_text"], record["removed_reason"])]
    page = CleanResult(input=record["input"], title=record["title"], language=record["language"],
                       text=record["text"], removed=removed, stats=json.loads(record["stats"]))
    return PageOutcome(record["input"], page=page)


def _clean_with_datasets(sources: list[str], *, workers: int, timeout: float, max_bytes: int,
                         progress: bool) -> Iterator[PageOutcome]:
    import datasets

    if "-" in sources:
        raise PagetagError("standard input (-) cannot be read with --engine datasets; use --engine threads")
    bars_were_disabled = datasets.are_progress_bars_disabled()
    if not progress:
        datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="pagetag-") as arrow_dir:
        try:
            records = datasets.Dataset.from_dict({"input": sources}).map(
                clean_record, fn_kwargs={"timeout": timeout, "max_bytes": max_bytes}, features=_record_features(),
                num_proc=workers if workers > 1 and len(sources) > 1 else None,
                cache_file_name=str(Path(arrow_dir) / "clean.arrow"), desc="read+clean")
        finally:
            if not bars_were_disabled:
                datasets.enable_progress_bars()
        for record in records:
            yield outcome_from_record(record)


def read_and_clean_all(sources: list[str], *, engine: str = "threads", workers: int = 1, timeout: float = 15.0,
                       max_bytes: int = 5_000_000, progress: bool = False) -> Iterator[PageOutcome]:
    """:func:`read_and_clean` every source with the chosen engine; outcomes come in input order."""
    if engine == "datasets":
        yield from _clean_with_datasets(sources, workers=workers, timeout=timeout, max_bytes=max_bytes,
                                        progress=progress)
        return
    if engine != "threads":
        raise PagetagError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if workers <= 1 or len(sources) <= 1:
        yield from (read_and_clean(s, timeout=timeout, max_bytes=max_bytes) for s in sources)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read-clean")
    try:
        yield from pool.map(lambda s: read_and_clean(s, timeout=timeout, max_bytes=max_bytes), sources)
    finally:  # on an early stop (Ctrl-C, closed pipe) do not wait for the inputs not yet started
        pool.shutdown(cancel_futures=True)


# --- classification --------------------------------------------------------------------------

def classify_batch(predictor, outcomes: list[PageOutcome], *, explain: bool = False) -> list[PageOutcome]:
    """Fill ``prediction`` (and ``explanation``) of every clean outcome; unsupported languages become errors."""
    ready = []
    for outcome in outcomes:
        if outcome.error is not None:
            continue
        try:
            predictor.check_language(outcome.page)
        except PagetagError as exc:
            outcome.error, outcome.page = str(exc).removeprefix(f"{outcome.input}: "), None
            continue
        ready.append(outcome)
    predictions = predictor.classify([o.page for o in ready])
    for outcome, prediction in zip(ready, predictions):
        outcome.prediction = prediction
    if explain and ready:
        for outcome, explanation in zip(ready, weighty_sentences(predictor, ready)):
            outcome.explanation = explanation
    return outcomes


def classify_inputs(predictor, sources: list[str], *, engine: str = "threads", workers: int = 1,
                    timeout: float = 15.0, max_bytes: int = 5_000_000, explain: bool = False,
                    progress: bool = False, batch_size: int = BATCH_SIZE) -> Iterator[PageOutcome]:
    """Read, clean and classify every source; outcomes are yielded in input order, batch by batch."""
    from tqdm import tqdm

    cleaned = read_and_clean_all(sources, engine=engine, workers=workers, timeout=timeout,
                                 max_bytes=max_bytes, progress=progress)
    with tqdm(cleaned, total=len(sources), unit="page", desc="classify", disable=not progress, leave=False) as bar:
        for batch in _batches(bar, batch_size):
            yield from classify_batch(predictor, batch, explain=explain)


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- explanations ----------------------------------------------------------------------------

def split_sentences(text: str) -> list[str]:
    """Sentences and lines of ``text`` (hard-wrapped lines rejoined) with at least :data:`MIN_SENTENCE_WORDS` words."""
    return [s.strip() for s in _SENTENCE_BOUNDARY.split(_HARD_WRAP.sub(" ", text))
            if len(s.split()) >= MIN_SENTENCE_WORDS]


def weighty_sentences(predictor, outcomes: list[PageOutcome], top: int = TOP_SENTENCES) -> list[dict]:
    """Per outcome and head, the sentences that most support the predicted label.

    Each sentence is embedded alone and scored by the head as if it were the whole page (the page's
    language and cleaner stats held fixed, cue features from the sentence itself): one short
    embedding per sentence, so explaining costs about as much as classifying the page again.
    Only the first :data:`MAX_EXPLAIN_SENTENCES` sentences within the embedded prefix count.
    """
    from pipeline.cues import cue_features
    from pipeline.embed import embed_documents
    from pipeline.model import feature_frame

    config = predictor.config
    per_page = [split_sentences(o.page.text[:config["max_chars"]])[:MAX_EXPLAIN_SENTENCES] for o in outcomes]
    sentences = [s for group in per_page for s in group]
    owners = [i for i, group in enumerate(per_page) for _ in group]
    explanations = [{head: [] for head in HEADS} for _ in outcomes]
    if not sentences:
        return explanations
    vectors = embed_documents(predictor.embedder, sentences, max_chars=config["max_chars"], chunk_chars=0)
    frame = feature_frame(vectors, [outcomes[i].page.language for i in owners],
                          [outcomes[i].page.stats for i in owners], [cue_features(s) for s in sentences],
                          tuple(config["stat_keys"]))
    owners = np.asarray(owners)
    for head in HEADS:
        model = predictor.classifier.heads[head]
        proba = model.predict_proba(frame)
        classes = list(model.classes_)
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
    if outcome.error is not None:
        return {"input": outcome.input, "error": outcome.error}
    page, prediction = outcome.page, outcome.prediction
    record = {"input": outcome.input, "title": page.title, "language": page.language,
              "labels": prediction["labels"], "evidence_cues": prediction["evidence_cues"],
              "claims": prediction["claims"], "flags": prediction["flags"],
              "removed": len(page.removed), "error": None}
    if outcome.explanation is not None:
        record["explain"] = {"removed": [{"text": r.text, "reason": r.reason} for r in page.removed],
                             "sentences": outcome.explanation}
    return record


_COLUMNS = (("INPUT", 34), ("LANG", 5), ("SOURCE TYPE", 20), ("EVIDENCE LEVEL", 25), ("TOPIC", 19))


def table_header() -> str:
    """Header line of the readable table."""
    return "".join(name.ljust(width) for name, width in _COLUMNS).rstrip()


def table_row(outcome: PageOutcome) -> str:
    """One classified outcome as a table line: input, language and each head's label with its score."""
    (_, input_width), (_, lang_width), *label_columns = _COLUMNS
    labels = outcome.prediction["labels"]
    cells = [_shorten(outcome.input, input_width - 2, keep_end=True).ljust(input_width),
             outcome.page.language.ljust(lang_width)]
    cells += [f"{labels[head]['label']} {labels[head]['score']:.2f}".ljust(width)
              for head, (_, width) in zip(HEADS, label_columns)]
    return "".join(cells).rstrip()


def explanation_lines(outcome: PageOutcome, width: int = 110) -> list[str]:
    """The ``--explain`` block printed under a table row."""
    page, prediction = outcome.page, outcome.prediction
    lines = [f"    title: {page.title or '-'}",
             f"    evidence cues: {', '.join(prediction['evidence_cues']) or 'none'}"]
    lines += [_shorten(line, width) for line in claim_lines(prediction)]
    lines.append(f"    removed boilerplate: {len(page.removed)}")
    lines += [_shorten(f"      [{item.reason}] {item.text}", width) for item in page.removed]
    for head in HEADS:
        lines.append(f"    why {head} = {prediction['labels'][head]['label']}:")
        lines += [_shorten(f"      {item['score']:.2f}  {item['text']}", width)
                  for item in (outcome.explanation or {}).get(head, [])]
    return lines


def _shorten(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` cut to ``width`` characters with an ellipsis; ``keep_end`` keeps the end, from a ``/`` if any."""
    if len(text) <= width:
        return text
    if not keep_end:
        return text[: width - 1] + "…"
    tail = text[1 - width:]
    return "…" + (tail[tail.index("/"):] if "/" in tail else tail)
