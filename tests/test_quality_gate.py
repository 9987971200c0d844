"""Quality gate (in the style of trafilatura's eval gate): the committed models must keep their held-out scores.

Re-scores the committed models end to end (read → clean → embed → numpy heads, through `Predictor`) on
the gold-annotated documents of the held-out test split — corpus texts and real HTML pages — and checks
each head's macro-F1, overall and per language, against the floors pinned in `tests/quality_floors.json`,
as well as the written probe pages (TAXONOMY.md's worked examples). The floors belong to one held-out
set, identified by its fingerprint; raise them when the models improve, never lower them silently.
Skipped when the corpus texts (`../shared`) are not there.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import f1_score

from pipeline.clean import clean_html, clean_text
from pipeline.clean_corpus import _read_html, documents
from pipeline.evaluate import heldout_fingerprint, probe_pages
from pipeline.labels import HEADS
from pipeline.params import load_params
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

ROOT = Path(__file__).resolve().parent.parent
PARAMS = load_params(ROOT / "params.yaml")
DATA_DIR = (ROOT / PARAMS["data_dir"]).resolve()
HTML_DIR = (ROOT / PARAMS["html_dir"]).resolve()
FLOORS = json.loads((ROOT / "tests" / "quality_floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    rows = [json.loads(line) for line in (ROOT / "corpus" / "manifest.jsonl").open(encoding="utf-8")]
    return pd.DataFrame(rows)


def test_floors_refer_to_the_committed_heldout_set(manifest):
    assert heldout_fingerprint(manifest) == FLOORS["heldout_fingerprint"], (
        "the held-out split changed: re-run `dvc repro`, then re-pin tests/quality_floors.json")


@pytest.mark.skipif(not (DATA_DIR.is_dir() and HTML_DIR.is_dir()), reason="corpus texts (../shared) not available")
def test_committed_models_meet_the_heldout_floors(manifest):
    gold = manifest[(manifest["split"] == "test") & (manifest["source_type_src"] == "gold")]
    docs = documents(DATA_DIR, HTML_DIR, gold.to_dict("records")).to_list()  # checks every text's SHA-1
    by_id = {d["id"]: d for d in docs}
    results = [clean_html(_read_html(d["html_path"]), url=d["url"], input=d["id"]) if d["html_path"]
               else clean_text(d["text"], input=d["id"]) for d in (by_id[i] for i in gold["id"])]
    predictions = Predictor().classify(results)
    languages = [r.language for r in results]
    for head in HEADS:
        predicted = [p["labels"][head]["label"] for p in predictions]
        macro_f1 = f1_score(gold[head], predicted, average="macro", zero_division=0)
        assert macro_f1 >= FLOORS["macro_f1"][head], f"{head}: held-out gold macro-F1 {macro_f1:.3f} fell below " \
                                                    f"the floor {FLOORS['macro_f1'][head]}"
        for lang, floor in FLOORS["per_language"][head].items():
            sel = [i for i, language in enumerate(languages) if language == lang]
            score = f1_score(gold[head].iloc[sel], [predicted[i] for i in sel], average="macro", zero_division=0)
            assert score >= floor, f"{head}, {lang}: held-out gold macro-F1 {score:.3f} fell below the floor {floor}"


def test_probe_pages_meet_their_floors():
    probes = probe_pages(DEFAULT_MODEL_DIR, [str(ROOT / d) for d in PARAMS["evaluate"]["probe_dirs"]])
    for directory, result in probes.items():
        floors = FLOORS["probes"][Path(directory).relative_to(ROOT).as_posix()]
        for head in HEADS:
            assert result["correct"][head] >= floors[head], (
                f"{directory}: {head} right on {result['correct'][head]} of {result['pages']} pages, floor {floors[head]}")
