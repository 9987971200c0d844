"""The `prepare` stage on a tiny corpus the tests write themselves (tests/corpus_factory.py).

No real corpus needed: the texts are generated into a temporary directory, the stage runs through its
command-line entry point with a params.yaml pointing there, and the tests check the manifest, the
filter log and the generated README against what was planted.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict

import pytest

from corpus_factory import tiny_params, write_corpus, write_params
from pipeline import prepare as prepare_stage
from pipeline.labels import HEADS, LABELS

pytestmark = pytest.mark.filterwarnings("ignore:The least populated class:UserWarning")


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory):
    """Keep the `datasets` cache of these throwaway JSON files out of ~/.cache/huggingface."""
    import datasets

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf_datasets")))
        yield


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, hf_cache):
    """Run ``python -m pipeline.prepare --params <tmp>/params.yaml`` once, from the temp directory."""
    work = tmp_path_factory.mktemp("prepare")
    corpus = write_corpus(work / "shared_corpus")
    params_path = write_params(work / "params.yaml", tiny_params(corpus.data_dir))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        assert prepare_stage.main(["--params", str(params_path)]) == 0
    out = work / "corpus"
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    filtered = [json.loads(line) for line in (out / "filtered.jsonl").read_text(encoding="utf-8").splitlines()]
    return {"corpus": corpus, "out": out, "manifest": manifest, "by_id": {r["id"]: r for r in manifest},
            "filtered": filtered, "params_path": params_path, "work": work}


def reasons(prepared) -> dict[str, list[str]]:
    out = defaultdict(list)
    for row in prepared["filtered"]:
        out[row["id"]].append(row["reason"])
    return out


def test_every_document_is_kept_or_filtered_with_a_reason(prepared):
    corpus, by_id, why = prepared["corpus"], prepared["by_id"], reasons(prepared)
    assert len(prepared["manifest"]) == len(by_id), "manifest ids must be unique"
    for doc_id in corpus.docs:
        assert doc_id in by_id or doc_id in why, f"{doc_id} vanished without a reason"
    assert set(by_id) <= set(corpus.docs)
    assert all(row["reason"] for row in prepared["filtered"])
    assert len(by_id) >= 80


def test_gold_overrides_weak(prepared):
    corpus, by_id = prepared["corpus"], prepared["by_id"]
    all_gold = {**corpus.gold, **corpus.project_gold}
    kept_gold = [i for i in all_gold if i in by_id]
    assert len(kept_gold) == len(all_gold), "no gold document should be filtered"
    for doc_id in kept_gold:
        row, gold = by_id[doc_id], all_gold[doc_id]
        for head in HEADS:
            assert (row[head], row[f"{head}_src"]) == (gold[head], "gold"), (doc_id, head)
        assert row["gold_confidence"] == gold["confidence"]
    override = by_id[corpus.override]
    assert corpus.docs[corpus.override]["weak"] == {"source_type": "blog"}
    assert override["source_type"] == "news" and override["source_type_src"] == "gold"


def test_weak_labels_fill_the_rest_and_missing_stays_missing(prepared):
    corpus, by_id = prepared["corpus"], prepared["by_id"]
    conflicted = corpus.exact_dup[0]
    for doc_id, row in by_id.items():
        if doc_id in corpus.gold or doc_id in corpus.project_gold or row["origin"] in ("translation", "contrast"):
            continue
        weak = corpus.docs[doc_id]["weak"]
        assert row["gold_confidence"] is None
        for head in HEADS:
            if head in weak and not (doc_id == conflicted and head == "source_type"):
                assert (row[head], row[f"{head}_src"]) == (weak[head], "weak"), (doc_id, head)
            else:
                assert row[head] is None and row[f"{head}_src"] is None, f"{doc_id}: {head} was invented"


def test_documents_with_one_weak_head(prepared):
    corpus, by_id = prepared["corpus"], prepared["by_id"]
    one_head = [i for i in corpus.weak_only_one_head() if i in by_id]
    assert len(one_head) >= 10
    for doc_id in one_head:
        labelled = [h for h in HEADS if by_id[doc_id][h] is not None]
        assert labelled == list(corpus.docs[doc_id]["weak"]), doc_id


def test_exact_duplicates_are_filtered_and_conflicting_weak_labels_dropped(prepared):
    corpus, by_id, why = prepared["corpus"], prepared["by_id"], reasons(prepared)
    first, second = corpus.exact_dup
    assert first in by_id and second not in by_id
    assert why[second] == [f"exact duplicate of {first}"]
    # the copies disagree on source_type (news vs blog): neither label survives; topic agrees and stays
    assert by_id[first]["source_type"] is None and by_id[first]["source_type_src"] is None
    assert by_id[first]["topic"] == "cardiovascular"
    assert "source_type weak label dropped: duplicates disagree" in why[first]


def test_gold_copy_of_a_duplicate_wins(prepared):
    corpus, by_id, why = prepared["corpus"], prepared["by_id"], reasons(prepared)
    gold_copy, weak_copy = corpus.gold_dup
    assert gold_copy in by_id and weak_copy not in by_id
    assert why[weak_copy] == [f"exact duplicate of {gold_copy}"]
    assert by_id[gold_copy]["source_type_src"] == "gold"


def test_broken_tiny_and_unlabelled_texts_are_dropped_with_reasons(prepared):
    corpus, by_id, why = prepared["corpus"], prepared["by_id"], reasons(prepared)
    for doc_id in (corpus.broken, corpus.tiny, corpus.unlabelled):
        assert doc_id not in by_id
    assert why[corpus.broken][0].startswith("broken encoding (")
    assert why[corpus.tiny][0].startswith("tiny text (")
    assert why[corpus.unlabelled] == ["no label on any head"]
    min_chars = tiny_params(corpus.data_dir)["prepare"]["min_chars"]
    assert all(row["n_chars"] >= min_chars for row in by_id.values())


def test_near_duplicates_and_same_doi_share_a_group_and_a_split(prepared):
    corpus, by_id = prepared["corpus"], prepared["by_id"]
    for a, b in (corpus.near_dup, corpus.doi_pair):
        assert by_id[a]["group"] == by_id[b]["group"], (a, b)
        assert by_id[a]["split"] == by_id[b]["split"], (a, b)


def test_no_group_spans_two_splits(prepared):
    splits = defaultdict(set)
    for row in prepared["manifest"]:
        splits[row["group"]].add(row["split"])
    assert all(len(s) == 1 for s in splits.values()), {g: s for g, s in splits.items() if len(s) > 1}
    assert {row["split"] for row in prepared["manifest"]} == {"train", "val", "test"}


def test_only_the_planted_documents_are_grouped(prepared):
    corpus = prepared["corpus"]
    members = defaultdict(set)
    for row in prepared["manifest"]:
        members[row["group"]].add(row["id"])
    grouped = {frozenset(m) for m in members.values() if len(m) > 1}
    by_site = defaultdict(set)
    for doc_id, site in corpus.html_pages.items():
        by_site[site].add(doc_id)
    planted = {frozenset(corpus.near_dup), frozenset(corpus.doi_pair), frozenset(corpus.contrast),
               *(frozenset({t, s}) for t, s in corpus.translations.items()), *map(frozenset, by_site.values())}
    assert grouped == planted


def test_labels_are_taxonomy_names(prepared):
    for row in prepared["manifest"]:
        for head in HEADS:
            assert row[head] is None or row[head] in LABELS[head], (row["id"], head, row[head])
            assert row[f"{head}_src"] in (None, "gold", "weak", "translation", "contrast")
        assert any(row[h] for h in HEADS)


def test_test_and_val_splits_hold_gold_documents(prepared):
    gold_by_split = Counter(row["split"] for row in prepared["manifest"] if row["source_type_src"] == "gold")
    assert gold_by_split["test"] >= 3 and gold_by_split["val"] >= 1 and gold_by_split["train"] >= 3
    splits = Counter(row["split"] for row in prepared["manifest"])
    assert splits["train"] > splits["test"] > 0 and splits["val"] > 0


def test_manifest_holds_no_text(prepared):
    corpus = prepared["corpus"]
    for row in prepared["manifest"]:
        assert tuple(row) == prepare_stage.MANIFEST_COLUMNS
        assert "text" not in row
        for key, value in row.items():
            assert not isinstance(value, str) or len(value) <= 100, (row["id"], key)
        source = corpus.docs[row["id"]]
        assert row["sha1"] == prepare_stage.text_sha1(source["text"])
        assert row["n_chars"] == (len(source["text"].encode()) if row["origin"] == "html_bench" else len(source["text"]))
        assert (row["origin"], row["lang"]) == (source["origin"], source["lang"])
    texts = {d["text"][:60] for d in corpus.docs.values()}
    for name in ("manifest.jsonl", "filtered.jsonl", "README.md"):
        written = (prepared["out"] / name).read_text(encoding="utf-8")
        assert not any(t in written for t in texts), f"{name} contains a source text"


def test_readme_counts_are_generated(prepared):
    manifest, filtered = prepared["manifest"], prepared["filtered"]
    readme = (prepared["out"] / "README.md").read_text(encoding="utf-8")
    assert f"Documents kept: {len(manifest)}; filtered out or changed: {len(filtered)}" in readme
    assert f"Near-duplicate/translation groups: {len({r['group'] for r in manifest})};" in readme
    for split in ("train", "val", "test"):
        part = [r for r in manifest if r["split"] == split]
        n_gold = sum(r["source_type_src"] == "gold" for r in part)
        assert f"| {split} | {len(part)} | {n_gold} |" in readme
    for reason in ("broken encoding", "exact duplicate", "tiny text", "no label on any head"):
        assert re.search(rf"{reason}: \d+", readme), reason
    for head in HEADS:
        assert f"## {head}" in readme
        for label in {r[head] for r in manifest if r[head]}:
            total = Counter(r["split"] for r in manifest if r[head] == label)
            assert re.search(rf"^\| {label} \|.*\| {total['train']}/{total['val']}/{total['test']} \(\d+\) \|$",
                             readme, re.M), (head, label)


def test_prepare_is_deterministic(prepared, tmp_path):
    corpus = prepared["corpus"]
    params = tiny_params(corpus.data_dir)["prepare"]
    rows = prepare_stage.prepare(corpus.data_dir, tmp_path / "again", params, html_dir=corpus.html_dir)
    assert [{k: r.get(k) for k in prepare_stage.MANIFEST_COLUMNS} for r in rows] == prepared["manifest"]
    assert (tmp_path / "again" / "README.md").read_text() == (prepared["out"] / "README.md").read_text()


def test_gold_id_without_a_source_text_is_an_error(tmp_path, hf_cache):
    corpus = write_corpus(tmp_path / "c")
    with open(corpus.data_dir / "gold.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "nowhere:1", "source_type": "news", "evidence_level": "not_applicable",
                             "topic": "non_health", "confidence": "high", "round": 1}) + "\n")
    with pytest.raises(SystemExit, match="gold ids without a source text"):
        prepare_stage.prepare(corpus.data_dir, tmp_path / "out", tiny_params(corpus.data_dir)["prepare"])


@pytest.mark.parametrize("where", ["weak", "gold"])
def test_label_outside_the_taxonomy_is_rejected(tmp_path, hf_cache, where):
    corpus = write_corpus(tmp_path / "c")
    if where == "gold":
        path = corpus.data_dir / "gold.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        rows[0]["topic"] = "cardiology"
    else:
        path = corpus.data_dir / "sources" / "wire.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        target = next(r for r in rows if r["id"] not in corpus.gold and "topic" in r["weak"])
        target["weak"]["topic"] = "cardiology"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(ValueError, match="'cardiology' is not a topic label"):
        prepare_stage.prepare(corpus.data_dir, tmp_path / "out", tiny_params(corpus.data_dir)["prepare"])
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_map_cache_key_follows_the_code_of_the_helpers(tmp_path):
    import datasets
    from types import SimpleNamespace

    from pipeline.prepare import map_fingerprint

    helper = tmp_path / "helper.py"
    helper.write_text("PATTERN = r'\\bOR\\b'\n", encoding="utf-8")
    module = SimpleNamespace(__file__=str(helper))
    ds = datasets.Dataset.from_dict({"text": ["a", "b"]})
    before = map_fingerprint(ds, module)
    assert map_fingerprint(ds, module) == before
    helper.write_text("PATTERN = r'(?-i:\\bOR\\b)'\n", encoding="utf-8")
    assert map_fingerprint(ds, module) != before
    assert map_fingerprint(datasets.Dataset.from_dict({"text": ["a", "c"]}), module) != map_fingerprint(ds, module)


def test_translations_share_their_source_group_and_split_and_keep_their_labels(prepared):
    corpus, by_id = prepared["corpus"], prepared["by_id"]
    assert corpus.translations and all(t in by_id for t in corpus.translations)
    for tid, source in corpus.translations.items():
        row = by_id[tid]
        assert (row["group"], row["split"]) == (by_id[source]["group"], by_id[source]["split"])
        assert row["source_id"] == source and row["origin"] == "translation"
        for head in HEADS:
            assert (row[head], row[f"{head}_src"]) == (corpus.gold[source][head], "translation")


def test_contrast_pages_always_train_in_one_group(prepared):
    corpus, by_id = prepared["corpus"], prepared["by_id"]
    rows = [by_id[c] for c in corpus.contrast]
    assert {r["split"] for r in rows} == {"train"} and len({r["group"] for r in rows}) == 1
    assert all(r["source_type_src"] == "contrast" for r in rows)


def test_project_annotations_label_sources_and_html_pages_grouped_by_site(prepared):
    corpus, by_id, why = prepared["corpus"], prepared["by_id"], reasons(prepared)
    assert by_id[corpus.annotated]["source_type_src"] == "gold"  # had no weak label at all
    assert corpus.html_no_text not in by_id and why[corpus.html_no_text] == ["annotator: no usable text"]
    sites = defaultdict(set)
    for doc_id, site in corpus.html_pages.items():
        row = by_id[doc_id]
        assert row["origin"] == "html_bench" and row["url"].startswith("https://www.")
        sites[site].add((row["group"], row["split"]))
    assert all(len(v) == 1 for v in sites.values()) and len(sites) == 3
