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


def random_texts(rng, n: int) -> list[str]:
    words = " ".join(TEXTS).split() + ["Ä", "x", "É", "über", "ÉTUDE", "a\u00a0b"]
    return [" ".join(rng.choice(words, size=rng.integers(1, 40))) + ("\n\t  fin" if i % 3 else "") for i in range(n)]


@pytest.mark.parametrize("center,vote", [(False, False), (True, False), (False, True)])
def test_exported_heads_equal_the_pipelines(tmp_path, center, vote):
    from pipeline.train import text_classifier, text_vectorizer

    rng = np.random.default_rng(3)
    X, texts = random_frame(rng, 240), random_texts(rng, 240)
    heads, text_heads, labels = {}, {}, {}
    vectorizer = text_vectorizer(500).fit(texts)
    for k, head in enumerate(HEADS):
        labels[head] = y = rng.choice(LABELS[head][:3 + k], size=len(X))
        model = make_estimator("embedding+features", C=1.0, class_weight="balanced", center_languages=center,
                               calibration="temperature", calibration_folds=2, seed=0, columns=list(X.columns),
                               views=("tail", "page"))
        heads[head] = model.fit(X, y)
        text_heads[head] = text_classifier(3.0, 0).fit(vectorizer.transform(texts), y)
    config = {"couple_not_applicable": True, "max_chars": 150}
    if vote:
        config["text_vote"] = {"source_type": 0.5, "evidence_level": 0.3, "topic": 0.0}
        config["text_vote_temperature"] = {"source_type": 0.7, "evidence_level": 1.0, "topic": 1.0}
    classifier = PageClassifier(heads, config, {"vectorizer": vectorizer, "heads": text_heads} if vote else None)
    exported = LinearHeads(export_heads(classifier, tmp_path / HEADS_FILE))
    X_new, texts_new = random_frame(np.random.default_rng(4), 50), random_texts(np.random.default_rng(5), 50)
    groups = column_groups(X_new.columns)
    blocks = {name: X_new[cols].to_numpy() for name, cols in groups.items()}
    ours = exported.predict_proba(X_new["lang"].tolist(), blocks, texts_new)
    reference = classifier.predict_proba(X_new, texts_new)
    for head in HEADS:
        assert exported.classes(head) == classifier.classes(head)
        np.testing.assert_allclose(ours[head], reference[head], atol=1e-6, rtol=0)
    if vote:  # the vote moves the blended heads, and both paths refuse to blend without the texts
        alone = PageClassifier(heads, {"couple_not_applicable": True}).predict_proba(X_new)
        assert np.abs(alone["source_type"] - reference["source_type"]).max() > 0.01
        np.testing.assert_allclose(alone["topic"], reference["topic"], atol=1e-12)
        with pytest.raises(ValueError, match="text vote"):
            exported.predict_proba(X_new["lang"].tolist(), blocks)


def test_char_ngrams_equal_scikit_learn_char_wb():
    from pipeline.linear_heads import char_wb_ngrams
    from pipeline.train import text_vectorizer

    analyzer = text_vectorizer(10).build_analyzer()
    for text in [*TEXTS, "", "a", "Ab", "  Über\u00a0ÉTÉ\t\n x  yz ", "日本語のテキスト 와 한국어", "ǅ ﬁ İstanbul"]:
        assert char_wb_ngrams(text, 2, 4) == analyzer(text)


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
    reference = PageClassifier.load(DEFAULT_MODEL_DIR).predict_proba(frame, texts)
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
