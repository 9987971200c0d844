"""`prepare` stage: turn ../shared/corpus into a leak-free label manifest and train/val/test split.

Reads every ``sources/*.jsonl`` and ``gold.jsonl`` with the `datasets` library, the written pages
(``translations.jsonl``, ``contrast.jsonl``), the project's own gold annotations
(``corpus/annotations/``: real corpus documents and real HTML pages of ``html_dir``), applies quality
filters (tiny texts, broken encoding, exact duplicates), groups near-duplicates, translations and
pages of one site so that a group never straddles two splits, and writes ids, labels, provenance,
language, origin, split and a text hash to ``corpus/`` — never the texts themselves.

Label provenance (``<head>_src``): ``gold`` (read and labelled by a person), ``weak`` (inferred from
the source), ``translation`` and ``contrast`` (written pages, labels by construction: trained on,
never reported as quality). Contrast pages always train; a translation shares its source's group.

Usage: ``python -m pipeline.prepare [--params params.yaml]``
"""

import argparse
import hashlib
import json
import re
import sys
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import datasets
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from pipeline.labels import HEADS, check_label
from pipeline.params import load_params

MANIFEST_COLUMNS = (
    "id", "origin", "lang", "sha1", "n_chars", "group", "split",
    *HEADS, *(f"{h}_src" for h in HEADS), "gold_confidence", "source_id", "url",
)
WRITTEN_FILES = ("translations.jsonl", "contrast.jsonl")
NO_TEXT_REASON = "no usable text"  # an annotator's verdict on a page whose extraction holds nothing to judge
_WORD = re.compile(r"\w+", re.UNICODE)
_REPLACEMENT = "\ufffd"
_MAX_SHINGLE_CHARS = 6000
_MINHASH_PERMS = 64
_MINHASH_BANDS = 16
_PRIME = 4_294_967_311  # smallest prime above 2**32: CRC32 values and the hash coefficients stay below it


def normalise_for_hash(text: str) -> str:
    """Lower-cased words joined by single spaces: the identity used for exact-duplicate detection."""
    return " ".join(_WORD.findall(text.lower()))


def text_sha1(text: str) -> str:
    """SHA-1 of the raw text: the key that ties manifest rows, cleaned texts and cached embeddings."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def map_fingerprint(ds: datasets.Dataset, *modules: ModuleType) -> str:
    """A ``Dataset.map`` cache key from the input table and the source code of ``modules``.

    datasets hashes the mapped function but not the helpers it calls, so without this a changed cue
    regex or normaliser would silently reuse a stale cached result.
    """
    digest = hashlib.sha1(ds._fingerprint.encode())
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _doc_fields(example: dict) -> dict:
    text = example["text"] or ""
    weak = example.get("weak") or {}
    return {
        "sha1": text_sha1(text),
        "norm_sha1": hashlib.sha1(normalise_for_hash(text).encode("utf-8")).hexdigest(),
        "n_chars": len(text),
        "replacement_ratio": text.count(_REPLACEMENT) / max(1, len(text)),
        "doi": example.get("doi"),
        **{f"weak_{h}": weak.get(h) for h in HEADS},
    }


def load_sources(data_dir: Path) -> datasets.Dataset:
    """All ``sources/*.jsonl`` as one Dataset with id, origin, lang, text, sha1 and weak labels per head."""
    parts = []
    for path in sorted((data_dir / "sources").glob("*.jsonl")):
        ds = datasets.load_dataset("json", data_files=str(path), split="train")
        ds = ds.map(_doc_fields, new_fingerprint=map_fingerprint(ds, sys.modules[__name__]), desc=f"hash {path.stem}")
        keep = ["id", "origin", "lang", "text", "sha1", "norm_sha1", "n_chars", "replacement_ratio", "doi",
                *(f"weak_{h}" for h in HEADS)]
        parts.append(ds.select_columns(keep).cast(_features()))
    if not parts:
        raise SystemExit(f"no sources/*.jsonl under {data_dir}")
    return datasets.concatenate_datasets(parts)


def _features() -> datasets.Features:
    string = datasets.Value("string")
    return datasets.Features({
        "id": string, "origin": string, "lang": string, "text": string, "sha1": string,
        "norm_sha1": string, "n_chars": datasets.Value("int64"), "replacement_ratio": datasets.Value("float64"), "doi": string,
        **{f"weak_{h}": string for h in HEADS},
    })


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_gold(data_dir: Path, annotations_dir: Path | None = None) -> dict[str, dict]:
    """Gold annotations by id (shared ``gold.jsonl``, then the project's ``*.jsonl`` annotation files).

    Label names are checked against the taxonomy; a second annotator's file (``second_annotator.jsonl``)
    only measures agreement and is not read here.
    """
    files = [data_dir / "gold.jsonl"]
    if annotations_dir is not None and Path(annotations_dir).is_dir():
        files += sorted(p for p in Path(annotations_dir).glob("*.jsonl") if p.name != SECOND_ANNOTATOR)
    gold = {}
    for path in files:
        for row in _read_jsonl(path):
            for head in HEADS:
                check_label(head, row[head])
            gold[row["id"]] = row
    return gold


SECOND_ANNOTATOR = "second_annotator.jsonl"


def load_written(data_dir: Path) -> list[dict]:
    """Translations and contrast pages (labels by construction), as source rows with their labels attached."""
    rows = []
    for name in WRITTEN_FILES:
        if not (data_dir / name).exists():
            continue
        for row in _read_jsonl(data_dir / name):
            fields = _doc_fields({"text": row["text"]})
            rows.append({"id": row["id"], "origin": row["origin"], "lang": row["lang"], "text": row["text"],
                         **fields, "source_id": row.get("source_id"), "written_group": row.get("group"),
                         "labels": {h: check_label(h, row[h]) for h in HEADS}})
    return rows


def html_page_path(html_dir: Path, bench: str, file: str) -> Path:
    """Where a labelled page's (gzipped) HTML lives under ``html_dir``."""
    return Path(html_dir) / bench / "html" / f"{file}.gz"


def load_html_pages(html_dir: Path, gold: dict) -> list[dict]:
    """Rows for the gold-labelled real HTML pages (ids ``html:<bench>/<file>``); text hash over the raw bytes."""
    import gzip

    rows = []
    languages = {}
    for bench in ("trafilatura_eval", "scrapinghub"):
        path = Path(html_dir) / bench / "languages.json"
        if path.exists():
            languages[bench] = json.loads(path.read_text(encoding="utf-8"))
    for doc_id, label in sorted(gold.items()):
        if not doc_id.startswith("html:"):
            continue
        path = html_page_path(html_dir, label["bench"], label["file"])
        raw = gzip.decompress(path.read_bytes())
        key = label["file"].removesuffix(".html") if label["bench"] == "scrapinghub" else label["file"]
        lang = languages.get(label["bench"], {}).get(key, {}).get("lang_guess", "und")
        sha1 = hashlib.sha1(raw).hexdigest()
        rows.append({"id": doc_id, "origin": "html_bench", "lang": lang, "text": "", "sha1": sha1, "norm_sha1": sha1,
                     "n_chars": len(raw), "replacement_ratio": 0.0, "url": label["url"], "html": True,
                     **{f"weak_{h}": None for h in HEADS}})
    return rows


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _minhash(text: str, shingle: int, coeffs: np.ndarray) -> np.ndarray | None:
    words = _WORD.findall(text[:_MAX_SHINGLE_CHARS].lower())
    if len(words) < shingle:
        return None
    hashes = np.fromiter(
        (zlib.crc32(" ".join(words[i:i + shingle]).encode()) for i in range(len(words) - shingle + 1)),
        dtype=np.uint64,
    )
    a, b = coeffs
    return ((np.outer(a, hashes) + b[:, None]) % _PRIME).min(axis=1)


def near_duplicate_pairs(texts: list[str], threshold: float, shingle: int, seed: int) -> list[tuple[int, int]]:
    """Index pairs whose word-shingle Jaccard similarity (MinHash estimate) is at least ``threshold``."""
    rng = np.random.default_rng(seed)
    # a·x + b with a < 2**31 and x < 2**32 stays below 2**63 (no uint64 overflow) and wraps the prime many times
    coeffs = rng.integers(1, 1 << 31, size=(2, _MINHASH_PERMS), dtype=np.uint64)
    sigs = [_minhash(t, shingle, coeffs) for t in texts]
    rows = _MINHASH_PERMS // _MINHASH_BANDS
    buckets = defaultdict(list)
    for i, sig in enumerate(sigs):
        if sig is None:
            continue
        for band in range(_MINHASH_BANDS):
            buckets[(band, sig[band * rows:(band + 1) * rows].tobytes())].append(i)
    candidates = {(a, b) for members in buckets.values() if len(members) > 1
                  for k, a in enumerate(members) for b in members[k + 1:]}
    return sorted((a, b) for a, b in candidates if np.mean(sigs[a] == sigs[b]) >= threshold)


def translation_key(doc_id: str) -> str | None:
    """Key shared by a document and its translation or companion text (same review, same source doc)."""
    if doc_id.startswith(("ginco:si:", "ginco:mt:")):
        return "ginco:" + doc_id.split(":", 2)[2]
    return None


def site_of(url: str | None) -> str | None:
    """A page's site (host without ``www.``; archive.org captures count as the captured site)."""
    from urllib.parse import urlsplit

    if not url or "://" not in url:
        return None
    inner = re.search(r"web\.archive\.org/web/[^/]+/(https?://.+)", url)
    host = (urlsplit(inner.group(1) if inner else url).hostname or "").lower()
    return host.removeprefix("www.") or None


def group_keys(row: dict) -> list[str]:
    """Keys that put rows into one group: same document (a translation and its source), same review,
    same DOI, same site (HTML pages), same written subject (contrast pages)."""
    keys = [f"doc:{row['id']}"]
    if row.get("source_id"):
        keys.append(f"doc:{row['source_id']}")
    for key in (translation_key(row["id"]), row.get("doi") and f"doi:{row['doi']}",
                row.get("html") and (site := site_of(row.get("url"))) and f"site:{site}",
                row.get("written_group") and f"written:{row['written_group']}"):
        if key:
            keys.append(key)
    return keys


def quality_filter(rows: list[dict], gold: dict, min_chars: int, max_replacement: float):
    """Split rows into kept and dropped (with reasons); exact duplicates keep one copy, gold first."""
    kept, dropped, seen = [], [], {}
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["id"] not in gold, i))
    for i in order:
        row = rows[i]
        if row["n_chars"] < min_chars:
            dropped.append({"id": row["id"], "reason": f"tiny text ({row['n_chars']} < {min_chars} chars)"})
        elif row["replacement_ratio"] > max_replacement:
            dropped.append({"id": row["id"],
                            "reason": f"broken encoding ({row['replacement_ratio']:.3%} U+FFFD characters)"})
        elif row["norm_sha1"] in seen:
            first = seen[row["norm_sha1"]]
            dropped.append({"id": row["id"], "reason": f"exact duplicate of {first['id']}"})
            for head in HEADS:
                other = row[f"weak_{head}"]
                if other and first[f"weak_{head}"] and other != first[f"weak_{head}"]:
                    first.setdefault("_conflicts", set()).add(head)
        else:
            seen[row["norm_sha1"]] = row
            kept.append(row)
    for row in kept:
        for head in row.pop("_conflicts", ()):
            if row["id"] not in gold:
                dropped.append({"id": row["id"], "reason": f"{head} weak label dropped: duplicates disagree"})
                row[f"weak_{head}"] = None
    kept.sort(key=lambda r: r["id"])
    return kept, dropped


def attach_labels(rows: list[dict], gold: dict) -> None:
    """Fill each head with the gold label where annotated, else the written page's, else the weak one, else None."""
    for row in rows:
        g = gold.get(row["id"])
        for head in HEADS:
            if row.get("labels"):
                row[head], row[f"{head}_src"] = row["labels"][head], row["origin"]
            elif g is not None:
                row[head], row[f"{head}_src"] = g[head], "gold"
            elif row[f"weak_{head}"]:
                row[head], row[f"{head}_src"] = check_label(head, row[f"weak_{head}"]), "weak"
            else:
                row[head], row[f"{head}_src"] = None, None
        row["gold_confidence"] = g["confidence"] if g else None


def assign_groups(rows: list[dict], params: dict) -> None:
    """Give near-duplicates, translations, same-DOI texts and same-site pages one group id (see :func:`group_keys`)."""
    uf = _UnionFind(len(rows))
    for a, b in near_duplicate_pairs([r["text"] for r in rows], params["near_dup_jaccard"],
                                     params["shingle_words"], params["seed"]):
        uf.union(a, b)
    by_key = {}
    for i, row in enumerate(rows):
        for key in group_keys(row):
            uf.union(i, by_key.setdefault(key, i))
    for i, row in enumerate(rows):
        row["group"] = rows[uf.find(i)]["id"]


def assign_splits(rows: list[dict], params: dict) -> None:
    """Grouped, stratified split: gold groups and weak-only groups are split with their own test share.

    Strata are origin × (gold/weak) × source_type label, so each origin and label is represented on both
    sides; a group (near-duplicates, translations) always lands on one side.
    """
    groups = defaultdict(list)
    for i, row in enumerate(rows):
        if row["origin"] != "contrast":  # written to the taxonomy: always training data
            groups[row["group"]].append(i)
    for row in rows:
        row["split"] = "train"
    for is_gold, test_share in ((True, params["gold_test_size"]), (False, params["test_size"])):
        members = [g for g, idx in groups.items() if any(rows[i]["source_type_src"] == "gold" for i in idx) == is_gold]
        _split_groups(rows, groups, members, "test", test_share, params["seed"])
        remaining = [g for g in members if rows[groups[g][0]]["split"] == "train"]
        _split_groups(rows, groups, remaining, "val", params["val_size"] / (1 - test_share), params["seed"] + 1)


def _split_groups(rows, groups, group_ids, name, share, seed):
    if not group_ids or share <= 0:
        return
    idx = [i for g in group_ids for i in groups[g]]
    strata = [f"{rows[i]['origin']}|{rows[i]['source_type']}" for i in idx]
    n_splits = max(2, round(1 / share))
    counts = Counter(strata)
    strata = [s if counts[s] >= n_splits else rows[i]["origin"] for s, i in zip(strata, idx)]
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    _, held = next(splitter.split(idx, strata, [rows[i]["group"] for i in idx]))
    for k in held:
        rows[idx[k]]["split"] = name


def write_manifest(rows: list[dict], dropped: list[dict], out_dir: Path, kappa: dict | None = None) -> None:
    """Write manifest.jsonl (no texts), filtered.jsonl (with reasons) and a README with counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "manifest.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({k: row.get(k) for k in MANIFEST_COLUMNS}, ensure_ascii=False) + "\n")
    with open(out_dir / "filtered.jsonl", "w", encoding="utf-8") as fh:
        for row in sorted(dropped, key=lambda r: r["id"]):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out_dir / "README.md").write_text(corpus_readme(rows, dropped, kappa), encoding="utf-8")


AGREEMENT_SETS = {"html": "real HTML pages", "ftd": "English web texts (FTD)"}
"""Annotated sets whose agreement is reported apart, by id prefix; every other id is a corpus document."""


def agreement(gold: dict, second: list[dict]) -> dict:
    """Cohen's kappa and raw agreement per head between the gold labels and an independent second annotator,
    per annotated set (:data:`AGREEMENT_SETS`, by id prefix)."""
    from sklearn.metrics import cohen_kappa_score

    out = {}
    sets = defaultdict(list)
    for row in second:
        if row["id"] in gold:
            sets[AGREEMENT_SETS.get(row["id"].split(":", 1)[0], "French and German corpus documents")].append(row)
    for name, part in sets.items():
        if len(part) < 2:
            continue
        out[name] = {"n": len(part)}
        for head in HEADS:
            first, other = [gold[r["id"]][head] for r in part], [r[head] for r in part]
            same = sum(a == b for a, b in zip(first, other)) / len(part)
            kappa = cohen_kappa_score(first, other) if len(set(first) | set(other)) > 1 else 1.0
            out[name][head] = (round(float(kappa), 3), round(same, 3))
    return out


def corpus_readme(rows: list[dict], dropped: list[dict], kappa: dict | None = None) -> str:
    """Markdown counts per head × label × language × split (generated; do not edit by hand)."""
    splits = ("train", "val", "test")
    lines = [
        "# corpus/ — label manifest and splits",
        "",
        "Generated by `python -m pipeline.prepare` (the `prepare` stage of `dvc.yaml`); do not edit by hand.",
        "Holds ids, labels, label provenance (gold/weak), language, origin, group, split and a SHA-1 of the",
        "text — never the texts, which stay in the data directory set in `params.yaml`.",
        "",
        f"Documents kept: {len(rows)}; filtered out or changed: {len(dropped)} (reasons in `filtered.jsonl`).",
        f"Near-duplicate/translation groups: {len({r['group'] for r in rows})}; no group spans two splits.",
        "",
        "| split | docs | gold docs |", "|---|---|---|",
    ]
    for s in splits:
        part = [r for r in rows if r["split"] == s]
        lines.append(f"| {s} | {len(part)} | {sum(r['source_type_src'] == 'gold' for r in part)} |")
    reasons = Counter(d["reason"].split(" (")[0].split(" of ")[0] for d in dropped)
    lines += ["", "Filter reasons: " + ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())), ""]
    src = Counter(r["source_type_src"] for r in rows if r["source_type_src"])
    lines += ["Source-type label provenance: " + ", ".join(f"{k} {v}" for k, v in sorted(src.items())) + "; "
              "`translation` and `contrast` rows are written pages (trained on, never scored).", ""]
    if kappa:
        lines += ["## Annotation agreement", "",
                  "The project's gold labels (`annotations/*.jsonl`: real corpus documents, English web texts, "
                  "real HTML pages) were made by reading each text against TAXONOMY.md; about 10% were labelled "
                  "again independently (`annotations/second_annotator.jsonl`). Cohen's kappa (raw agreement):", "",
                  "| set | n | " + " | ".join(HEADS) + " |", "|---|---|" + "---|" * len(HEADS)]
        for name, row in kappa.items():
            lines.append(f"| {name} | {row['n']} | " + " | ".join(f"{row[h][0]} ({row[h][1]})" for h in HEADS) + " |")
        lines.append("")
    for head in HEADS:
        langs = sorted({r["lang"] for r in rows if r[head]})
        lines += [f"## {head}", "",
                  "Cells: train/val/test documents (of which gold in brackets for the test split).", "",
                  "| label | " + " | ".join(langs) + " | total |",
                  "|---|" + "---|" * (len(langs) + 1)]
        for label in sorted({r[head] for r in rows if r[head]}):
            cells = []
            for lang in [*langs, None]:
                sel = [r for r in rows if r[head] == label and (lang is None or r["lang"] == lang)]
                if not sel:
                    cells.append("·")
                    continue
                c = Counter(r["split"] for r in sel)
                gold_test = sum(r["split"] == "test" and r[f"{head}_src"] == "gold" for r in sel)
                cells.append(f"{c['train']}/{c['val']}/{c['test']} ({gold_test})")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def prepare(data_dir: Path, out_dir: Path, params: dict, html_dir: Path | None = None) -> list[dict]:
    """Run the whole stage and return the manifest rows."""
    gold = load_gold(data_dir, params.get("annotations_dir"))
    ds = load_sources(data_dir)
    rows = ds.to_list() + load_written(data_dir)
    html_ids = {i for i in gold if i.startswith("html:")}
    if html_ids and html_dir is not None and Path(html_dir).is_dir():
        rows += load_html_pages(html_dir, gold)
    elif html_ids:
        print(f"prepare: {html_dir} not found: {len(html_ids)} labelled HTML pages left out", file=sys.stderr)
        gold = {i: g for i, g in gold.items() if i not in html_ids}
    missing = set(gold) - {r["id"] for r in rows}
    if missing:
        raise SystemExit(f"gold ids without a source text: {sorted(missing)[:5]} …")
    no_text = {i for i, g in gold.items() if g.get("reason", "").lower().startswith(NO_TEXT_REASON)}
    dropped = [{"id": i, "reason": f"annotator: {NO_TEXT_REASON}"} for i in sorted(no_text)]
    rows = [r for r in rows if r["id"] not in no_text]
    rows, filtered = quality_filter(rows, gold, params["min_chars"], params["max_replacement_ratio"])
    dropped += filtered
    attach_labels(rows, gold)
    dropped += [{"id": r["id"], "reason": "no label on any head"} for r in rows if not any(r[h] for h in HEADS)]
    rows = [r for r in rows if any(r[h] for h in HEADS)]
    assign_groups(rows, params)
    assign_splits(rows, params)
    second = Path(params["annotations_dir"]) / SECOND_ANNOTATOR if params.get("annotations_dir") else None
    kappa = agreement(gold, _read_jsonl(second)) if second is not None and second.exists() else None
    write_manifest(rows, dropped, out_dir, kappa)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    rows = prepare(Path(params["data_dir"]), Path(params["prepare"]["out_dir"]), params["prepare"],
                   html_dir=Path(params["html_dir"]) if params.get("html_dir") else None)
    print(f"prepare: {len(rows)} documents, splits {dict(Counter(r['split'] for r in rows))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
