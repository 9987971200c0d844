"""Inputs of the ``claims`` stage for tests: a tiny English claim corpus and French/German labels.

The English sentences are written here; the French/German labels point at sentences of documents that
already exist under ``data_dir`` (ids, offsets and SHA-1 only, as in ``corpus/claims_fr_de.jsonl``),
labelled with :func:`pipeline.claims.rule_strength` so that the stage has every field it reads.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from pipeline.claims import rule_strength, sentence_spans

ENGLISH = [  # (sentence, label of pubmed_causal_language_use.csv: 0 none, 1 direct, 2 conditional, 3 correlational)
    ("Coffee drinking was associated with a lower risk of type 2 diabetes in women.", 3),
    ("Smoking was linked to a higher risk of stroke in men.", 3),
    ("Regular exercise was associated with better sleep.", 3),
    ("Daily walking may reduce blood pressure in older adults.", 2),
    ("Vitamin D might improve mood in winter.", 2),
    ("Fish oil could lower triglycerides.", 2),
    ("The new drug reduces migraine attacks in adults.", 1),
    ("Aspirin prevents a second heart attack.", 1),
    ("The vaccine protects children from measles.", 1),
    ("The study included 300 adults from four hospitals in the region.", 0),
    ("Most participants were women aged 40 to 60.", 0),
    ("Follow-up lasted two years.", 0),
]


def write_claims_inputs(root: Path, data_dir: Path, per_language: int = 6) -> dict:
    """Write the claim corpus, labels and an empty flag-check file under ``root``; return the params to set.

    Labels cover the first ``per_language`` sentences of the French and of the German documents of
    ``data_dir/sources/*.jsonl`` (at least two documents per language, for page-grouped folds).
    """
    root.mkdir(parents=True, exist_ok=True)
    corpus = root / "claims.csv"
    with open(corpus, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("sentence", "label"), *(ENGLISH * 2)])
    rows = []
    for lang in ("fr", "de"):
        docs = [doc for path in sorted((Path(data_dir) / "sources").glob("*.jsonl"))
                for doc in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if doc["lang"] == lang]
        spans = [(doc, start, end) for doc in docs[:3] for start, end in sentence_spans(doc["text"])[:2]]
        for doc, start, end in spans[:per_language]:
            sentence = doc["text"][start:end]
            rows.append({"id": doc["id"], "lang": lang, "start": start, "end": end, "sample": "random",
                         "sha1": hashlib.sha1(sentence.encode("utf-8")).hexdigest(), "finding": True,
                         "label": rule_strength(sentence)})
    labels = root / "claims_labels.jsonl"
    labels.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    (root / "flag_checks.jsonl").write_text("", encoding="utf-8")
    return {"corpus": str(corpus), "labels": str(labels), "flag_checks": str(root / "flag_checks.jsonl"),
            "folds": 2, "inner_folds": 2, "grid": {"C": [0.5]}, "min_df": 1}
