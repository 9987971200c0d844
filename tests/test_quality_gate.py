"""Quality gate (in the style of trafilatura's eval gate): the committed models must keep their held-out scores.

Re-scores the committed models end to end (clean → embed → heads, through `Predictor`) on the
gold-annotated documents of the held-out test split and checks each head's macro-F1 against the
floors pinned in `tests/quality_floors.json`. The floors belong to one held-out set, identified by
its fingerprint; raise them when the models improve, never lower them silently. Skipped when the
corpus texts (`../shared/corpus`) are not there.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import f1_score

from pipeline.clean import clean_text
from pipeline.evaluate import heldout_fingerprint
from pipeline.labels import HEADS
from pipeline.predict import Predictor
from pipeline.prepare import text_sha1

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT.parent / "shared" / "corpus"
FLOORS = json.loads((ROOT / "tests" / "quality_floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    rows = [json.loads(line) for line in (ROOT / "corpus" / "manifest.jsonl").open(encoding="utf-8")]
    return pd.DataFrame(rows)


def read_texts(ids: set[str]) -> dict[str, str]:
    texts = {}
    for path in sorted((DATA_DIR / "sources").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                if doc["id"] in ids:
                    texts[doc["id"]] = doc["text"]
    return texts


def test_floors_refer_to_the_committed_heldout_set(manifest):
    assert heldout_fingerprint(manifest) == FLOORS["heldout_fingerprint"], (
        "the held-out split changed: re-run `dvc repro`, then re-pin tests/quality_floors.json")


@pytest.mark.skipif(not DATA_DIR.is_dir(), reason="corpus texts (../shared/corpus) not available")
def test_committed_models_meet_the_heldout_floors(manifest):
    gold = manifest[(manifest["split"] == "test") & (manifest["source_type_src"] == "gold")]
    texts = read_texts(set(gold["id"]))
    assert all(text_sha1(texts[i]) == h for i, h in zip(gold["id"], gold["sha1"])), "corpus texts changed"
    results = [clean_text(texts[i], input=i) for i in gold["id"]]
    predictions = Predictor().classify(results)
    for head in HEADS:
        predicted = [p["labels"][head]["label"] for p in predictions]
        macro_f1 = f1_score(gold[head], predicted, average="macro", zero_division=0)
        assert macro_f1 >= FLOORS["macro_f1"][head], f"{head}: held-out gold macro-F1 {macro_f1:.3f} fell below " \
                                                    f"the floor {FLOORS['macro_f1'][head]}"
