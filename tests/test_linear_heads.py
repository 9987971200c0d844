"""The numpy-only prediction path (pipeline.linear_heads) against the scikit-learn Pipelines it was exported from."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.clean import STAT_KEYS, clean_text
from pipeline.cues import FEATURE_NAMES as CUE_FEATURES
from pipeline.labels import HEADS, LABELS
from pipeline.linear_heads import HEADS_FILE, LinearHeads, export_heads
from pipeline.model import PageClassifier, column_groups, feature_frame, make_estimator
from pipeline.page_features import FEATURE_NAMES as PAGE_FEATURES
from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "Communiqué de presse. Nos chercheurs ont mené un essai randomisé contre placebo chez 120 patients "
    "atteints de polyarthrite. Contact presse : service communication de l'université.",
    "Die Zeitung berichtet: Eine große Kohortenstudie mit 40.000 Teilnehmern verbindet Schlafmangel mit "
    "Bluthochdruck, sagen Fachleute aus Hamburg.",
    "I tried the new diet for three weeks and honestly I feel great. Share this post with your friends!",
    "Buy now: our premium omega-3 capsules support your heart. Free shipping, only 29.90 EUR. Order today.",
]


def random_frame(rng, n: int):
    langs = rng.choice(["en", "fr", "de", "es"], size=n).tolist()
    emb = rng.normal(size=(n, 512)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    tail = rng.normal(size=(n, 512)).astype(np.float32)
    stats = [{k: float(rng.random() * 10) for k in STAT_KEYS} for _ in range(n)]
    cues = rng.random(size=(n, len(CUE_FEATURES))).tolist()
    pages = [dict(zip(PAGE_FEATURES, rng.random(len(PAGE_FEATURES)))) if i % 2 else None for i in range(n)]
    return feature_frame(emb, langs, stats, cues, STAT_KEYS, tail=tail, pages=pages)


@pytest.mark.parametrize("center", [False, True])
def test_exported_heads_equal_the_pipelines(tmp_path, center):
    rng = np.random.default_rng(3)
    X = random_frame(rng, 240)
    heads = {}
    for k, head in enumerate(HEADS):
        y = rng.choice(LABELS[head][:3 + k], size=len(X))
        model = make_estimator("embedding+features", C=1.0, class_weight="balanced", center_languages=center,
                               calibration="temperature", calibration_folds=2, seed=0, columns=list(X.columns),
                               views=("tail", "page"))
        heads[head] = model.fit(X, y)
    classifier = PageClassifier(heads, {"couple_not_applicable": True})
    exported = LinearHeads(export_heads(classifier, tmp_path / HEADS_FILE))
    X_new = random_frame(np.random.default_rng(4), 50)
    groups = column_groups(X_new.columns)
    blocks = {name: X_new[cols].to_numpy() for name, cols in groups.items()}
    ours = exported.predict_proba(X_new["lang"].tolist(), blocks)
    reference = classifier.predict_proba(X_new)
    for head in HEADS:
        assert exported.classes(head) == classifier.classes(head)
        np.testing.assert_allclose(ours[head], reference[head], atol=1e-6, rtol=0)


def test_committed_numpy_heads_equal_the_committed_pipelines():
    predictor = Predictor()
    results = [clean_text(t) for t in TEXTS]
    texts, langs = [r.text for r in results], [r.language for r in results]
    ours = predictor.probabilities(texts, langs, [r.stats for r in results], [None] * len(results))
    from pipeline.cues import cue_features
    from pipeline.embed import embed_views

    config = predictor.config
    head, tail = embed_views(predictor.embedder, texts, max_chars=config["max_chars"],
                             chunk_chars=config["chunk_chars"], tail_chars=config.get("tail_chars", 0))
    frame = feature_frame(head, langs, [r.stats for r in results], [cue_features(t) for t in texts],
                          tuple(config["stat_keys"]), tail=tail)
    reference = PageClassifier.load(DEFAULT_MODEL_DIR).predict_proba(frame)
    for h in HEADS:
        np.testing.assert_allclose(ours[h], reference[h], atol=1e-6, rtol=0)


def test_classify_path_imports_no_scikit_learn_scipy_or_pandas():
    code = (
        "import sys\n"
        "from pipeline.clean import clean_text\n"
        "from pipeline.predict import Predictor\n"
        f"print(Predictor().classify([clean_text({TEXTS[0]!r})])[0]['labels']['source_type']['label'])\n"
        "heavy = sorted(m for m in ('sklearn', 'scipy', 'pandas', 'torch') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout
