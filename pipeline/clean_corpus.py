"""`clean` stage: run the cleaner over every manifest text and keep its stats as features.

Reads the texts from the data directory (checking each against the manifest's SHA-1), writes a
`datasets` Arrow table with the clean text, detected language, removed-block count, ``stat_*`` and ``cue_*``
columns to ``data/clean`` (not committed).

Usage: ``python -m pipeline.clean_corpus [--params params.yaml]``
"""

import argparse
import json
import sys
from pathlib import Path

import datasets

from pipeline import clean, cues, lang
from pipeline.clean import STAT_KEYS, clean_text
from pipeline.cues import FEATURE_NAMES as CUE_FEATURES
from pipeline.cues import cue_features
from pipeline.params import load_params
from pipeline.prepare import load_sources, map_fingerprint


def read_manifest(corpus_dir: str | Path) -> list[dict]:
    """The rows of ``corpus/manifest.jsonl``."""
    with open(Path(corpus_dir) / "manifest.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _clean_example(example: dict) -> dict:
    result = clean_text(example["text"], input=example["id"])
    return {
        "clean_text": result.text,
        "language": result.language,
        "n_removed": len(result.removed),
        **{f"stat_{k}": float(result.stats[k]) for k in STAT_KEYS},
        **dict(zip(CUE_FEATURES, cue_features(result.text))),
    }


def clean_corpus(data_dir: Path, manifest: list[dict], workers: int) -> datasets.Dataset:
    """Manifest documents with their clean text; raises if a source text changed since `prepare`."""
    wanted = {row["id"]: row["sha1"] for row in manifest}
    ds = load_sources(data_dir).filter(lambda ex: ex["id"] in wanted, desc="select manifest ids")
    changed = [i for i, h in zip(ds["id"], ds["sha1"]) if wanted[i] != h]
    if changed or len(ds) != len(wanted):
        raise SystemExit(f"data dir does not match corpus/manifest.jsonl ({len(changed)} changed texts, "
                         f"{len(wanted) - len(ds)} missing): re-run the prepare stage")
    ds = ds.select_columns(["id", "text"])
    return ds.map(_clean_example, num_proc=workers if workers > 1 else None, desc="clean",
                  new_fingerprint=map_fingerprint(ds, sys.modules[__name__], clean, cues, lang))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    manifest = read_manifest(params["prepare"]["out_dir"])
    ds = clean_corpus(Path(params["data_dir"]), manifest, params["clean"]["workers"])
    ds.save_to_disk(params["clean"]["out_dir"])
    print(f"clean: {len(ds)} documents, {sum(ds['n_removed'])} blocks removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
