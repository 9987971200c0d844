"""`clean` stage: run the cleaner over every manifest document and keep its stats as features.

Reads the texts from the data directory (checking each against the manifest's SHA-1): plain texts go
through the text cleaner, pages with HTML (the labelled ``html_dir`` pages and the ``de_web`` pages
that kept theirs) through trafilatura + the cleaner, and also give the page-evidence features
(:mod:`pipeline.page_features`). Writes a `datasets` Arrow table with the clean text, detected
language, removed-block count, ``stat_*``, ``cue_*`` and ``page_*`` columns to ``data/clean`` (not committed).

Usage: ``python -m pipeline.clean_corpus [--params params.yaml]``
"""

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

import datasets

from pipeline import clean, cues, lang, page_features
from pipeline.clean import STAT_KEYS, clean_html, clean_text
from pipeline.cues import FEATURE_NAMES as CUE_FEATURES
from pipeline.cues import cue_features
from pipeline.errors import InputError
from pipeline.fetch import decode_bytes
from pipeline.page_features import FEATURE_NAMES as PAGE_FEATURES
from pipeline.page_features import absent, page_evidence
from pipeline.params import load_params
from pipeline.prepare import html_page_path, load_sources, load_written, map_fingerprint


def read_manifest(corpus_dir: str | Path) -> list[dict]:
    """The rows of ``corpus/manifest.jsonl``."""
    with open(Path(corpus_dir) / "manifest.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def clean_document(text: str, html: str | None, url: str | None, doc_id: str) -> dict:
    """Clean one document (HTML when there is some) into the stage's columns."""
    if html:
        try:
            result = clean_html(html, url=url, input=doc_id)
            page = result.page
        except InputError:  # nothing extractable: fall back on the given text, or the page's whole text
            import trafilatura
            from trafilatura.utils import load_html

            tree = load_html(html)
            page = page_evidence(tree, url) if tree is not None else absent()
            result = clean_text(text or trafilatura.html2txt(html) or "", input=doc_id)
    else:
        result, page = clean_text(text, input=doc_id), absent()
    return {
        "clean_text": result.text,
        "language": result.language,
        "n_removed": len(result.removed),
        **{f"stat_{k}": float(result.stats[k]) for k in STAT_KEYS},
        **dict(zip(CUE_FEATURES, cue_features(result.text))),
        **{name: float(page[name]) for name in PAGE_FEATURES},
    }


def _read_html(path: str) -> str:
    raw = Path(path).read_bytes()
    return decode_bytes(gzip.decompress(raw) if path.endswith(".gz") else raw)


def _clean_example(example: dict) -> dict:
    html = _read_html(example["html_path"]) if example["html_path"] else None
    return clean_document(example["text"], html, example["url"], example["id"])


def documents(data_dir: Path, html_dir: Path | None, manifest: list[dict]) -> datasets.Dataset:
    """The manifest's documents with their text or HTML path; raises if a text changed since `prepare`."""
    wanted = {row["id"]: row for row in manifest}
    rows = []
    sources = load_sources(data_dir).filter(lambda ex: ex["id"] in wanted, desc="select manifest ids")
    de_web_html = _de_web_html(data_dir)
    for doc_id, text, sha1 in zip(sources["id"], sources["text"], sources["sha1"]):
        url = wanted[doc_id].get("url")
        rows.append({"id": doc_id, "text": text, "sha1": sha1, "html_path": de_web_html.get(doc_id),
                     "url": url if isinstance(url, str) else None})
    rows += [{"id": r["id"], "text": r["text"], "sha1": r["sha1"], "html_path": None, "url": None}
             for r in load_written(data_dir) if r["id"] in wanted]
    for doc_id, row in wanted.items():
        if row["origin"] == "html_bench" and html_dir is not None:
            bench, file = doc_id.removeprefix("html:").split("/", 1)
            path = html_page_path(html_dir, bench, file)
            if path.exists():
                sha1 = hashlib.sha1(gzip.decompress(path.read_bytes())).hexdigest()
                rows.append({"id": doc_id, "text": "", "sha1": sha1, "html_path": str(path), "url": row["url"]})
    changed = [r["id"] for r in rows if wanted[r["id"]]["sha1"] != r["sha1"]]
    if changed or len(rows) != len(wanted):
        raise SystemExit(f"data dir does not match corpus/manifest.jsonl ({len(changed)} changed texts, "
                         f"{len(wanted) - len(rows)} missing): re-run the prepare stage")
    rows.sort(key=lambda r: r["id"])
    return datasets.Dataset.from_list(rows)


def _de_web_html(data_dir: Path) -> dict[str, str]:
    """Paths of the raw HTML that ``de_web`` pages kept, by id."""
    path = data_dir / "sources" / "de_web.jsonl"
    if not path.exists():
        return {}
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("html") and (data_dir / row["html"]).is_file():
                out[row["id"]] = str(data_dir / row["html"])
    return out


def clean_corpus(data_dir: Path, html_dir: Path | None, manifest: list[dict], workers: int) -> datasets.Dataset:
    """Manifest documents with their clean text and features."""
    ds = documents(data_dir, html_dir, manifest).select_columns(["id", "text", "html_path", "url"])
    return ds.map(_clean_example, num_proc=workers if workers > 1 else None, desc="clean",
                  remove_columns=["text", "html_path", "url"],
                  new_fingerprint=map_fingerprint(ds, sys.modules[__name__], clean, cues, lang, page_features))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    manifest = read_manifest(params["prepare"]["out_dir"])
    html_dir = Path(params["html_dir"]) if params.get("html_dir") else None
    ds = clean_corpus(Path(params["data_dir"]), html_dir, manifest, params["clean"]["workers"])
    ds.save_to_disk(params["clean"]["out_dir"])
    print(f"clean: {len(ds)} documents, {sum(ds['n_removed'])} blocks removed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
