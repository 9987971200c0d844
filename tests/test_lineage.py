"""Tests for study fingerprints, the same-study linker and `pagetag link`, on small pages written for them.

``tests/data/lineage/`` holds two asthma studies told several ways: a phase 3 antibody trial (English press
release, French news report, German blog post) and a cohort study of inhalers in children (English news,
German press release). Same topic, different studies: they must link within a study, never across.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.errors import PagetagError
from pipeline.lineage import (FEATURES, LinkedPage, StudyLinker, cluster, fingerprint, link_groups, pair_features,
                              parse_number, read_records, role_rank, strongest_claim, url_date)

DATA = Path(__file__).resolve().parent / "data" / "lineage"
TRIAL = ["asthma_press_release_en.html", "asthma_news_fr.txt", "asthma_blog_de.txt"]
COHORT = ["asthma_cohort_news_en.txt", "asthma_cohort_press_release_de.txt"]
LANGUAGES = {"asthma_press_release_en.html": "en", "asthma_news_fr.txt": "fr", "asthma_blog_de.txt": "de",
             "asthma_cohort_news_en.txt": "en", "asthma_cohort_press_release_de.txt": "de"}


def _text(name: str) -> str:
    from pipeline.classify import read_and_clean

    return read_and_clean(str(DATA / name)).page.text


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {name: _text(name) for name in TRIAL + COHORT}


@pytest.mark.parametrize("token, language, value", [
    ("1,297", "en", 1297.0), ("1.297", "de", 1297.0), ("1 297", "fr", 1297.0), ("1\u202f297", "fr", 1297.0),
    ("3,5", "fr", 3.5), ("3,5", "de", 3.5), ("3.5", "en", 3.5), ("12.000", "de", 12000.0),
    ("1,234,567", "en", 1234567.0), ("41,3", "fr", 41.3), ("0.87", "en", 0.87),
])
def test_numbers_read_with_the_page_languages_separators(token, language, value):
    assert parse_number(token, language) == value


def test_fingerprint_of_a_press_release(texts):
    fp = fingerprint(texts["asthma_press_release_en.html"], "en")
    assert fp.registry_ids == {"NCT05512347"}
    assert fp.dois == {"10.1016/s2213-2600(25)00041-7"}
    assert fp.journals == {"lancet respiratory medicine"}
    assert [d.isoformat() for d in fp.dates] == ["2025-03-12"]
    assert fp.sample_sizes == {618.0}
    assert "marwick" in fp.researchers
    assert {"kestrel", "bay"} <= fp.institutions
    assert {41.3, 618.0, 0.87, 1.48, 164.0} <= fp.numbers.keys()
    assert "tirzolimab" in fp.entities
    # the trailing "About Kestrel Bay University" block names the issuer, not the study
    assert 21000.0 not in fp.numbers


def test_fingerprints_agree_across_languages(texts):
    fps = {name: fingerprint(texts[name], LANGUAGES[name]) for name in TRIAL}
    for fp in fps.values():
        assert fp.sample_sizes == {618.0}
        assert "lancet respiratory medicine" in fp.journals
        assert "marwick" in fp.researchers
        assert {41.3, 0.87, 1.48} <= fp.numbers.keys()
    cohort_de = fingerprint(texts["asthma_cohort_press_release_de.txt"], "de")
    assert cohort_de.sample_sizes == {2904.0}  # "2.904 Kindern"
    assert cohort_de.numbers.keys() >= {0.31, 0.38}
    assert "wierzbicki" in cohort_de.researchers
    assert [d.isoformat() for d in cohort_de.dates] == ["2024-06-03"]  # "3. Juni 2024"


def test_publication_date_from_the_url():
    assert url_date("https://www.example.com/2011/02/09/health/story.html") == (2011, 2, 9)
    assert url_date("https://news.example.org/releases/2018-12/uni-abc121718.php") == (2018, 12, None)
    assert url_date("http://example.com/article.asp?id=20110809") == (2011, 8, 9)
    assert url_date("/tmp/2011/02/09.txt") is None and url_date(None) is None
    text = "A new study of 300 adults. DALLAS, June 1, 2016 -- Researchers said the trial worked."
    assert fingerprint(text, "en").published.isoformat() == "2016-06-01"
    dated = fingerprint(text, "en", "https://example.com/2016/06/03/trial.html")
    assert dated.published.isoformat() == "2016-06-03"  # the URL's date is the page's publication date


def test_german_common_nouns_are_not_name_evidence():
    fp = fingerprint("Die Studie zeigt, dass Patienten mit Asthma seltener Anfälle haben. "
                     "Laut Studienleiterin Prof. Ilse Brandauer half das Medikament XR-17 vielen Kindern.", "de")
    assert "patienten" not in fp.entities and "asthma" not in fp.entities
    assert {"brandauer", "xr-17"} <= fp.entities


@pytest.fixture(scope="module")
def linker() -> StudyLinker:
    return StudyLinker.load()


def _pages(texts, names):
    return [LinkedPage(input=name, title=None, language=LANGUAGES[name], text=texts[name]) for name in names]


def test_same_study_links_and_same_topic_other_study_does_not(texts, linker):
    groups = link_groups(_pages(texts, TRIAL + COHORT), linker)
    assert sorted(sorted(p["input"] for p in g["pages"]) for g in groups) == sorted([sorted(COHORT), sorted(TRIAL)])
    trial = next(g for g in groups if len(g["pages"]) == 3)
    assert trial["study"]["sample_sizes"] == [618]
    assert trial["study"]["journals"] == ["lancet respiratory medicine"]
    assert all(link["score"] >= linker.threshold for link in trial["links"])


def test_pair_scores_both_ways(texts, linker):
    from pipeline.lineage import embed_pages

    pages = _pages(texts, TRIAL + COHORT)
    fps = [fingerprint(p.text, p.language) for p in pages]
    vectors = embed_pages(pages)
    index = {p.input: i for i, p in enumerate(pages)}

    def proba(a, b):
        i, j = index[a], index[b]
        return linker.predict_proba(pair_features(fps[i], fps[j], float(vectors[i] @ vectors[j]),
                                                  linker.cosine_offset)[None])[0]

    assert proba("asthma_press_release_en.html", "asthma_news_fr.txt") >= linker.threshold
    assert proba("asthma_cohort_news_en.txt", "asthma_cohort_press_release_de.txt") >= linker.threshold
    for a in TRIAL:
        for b in COHORT:
            assert proba(a, b) < linker.threshold, (a, b)


def test_cluster_linkages():
    scores = {(0, 1): 0.9, (1, 2): 0.8, (0, 2): 0.1, (2, 3): 0.05}
    assert cluster(4, scores, 0.5, "single") == [[0, 1, 2], [3]]
    assert cluster(4, scores, 0.5, "average") == [[0, 1], [2], [3]]
    with pytest.raises(ValueError):
        cluster(2, {}, 0.5, "complete")


def test_linker_fits_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, len(FEATURES)))
    y = X[:, FEATURES.index("sample_match")] + 0.2 * rng.normal(size=80) > 0
    linker = StudyLinker(C=1.0, threshold=0.5, cosine_offset=0.05).fit(X, y)
    assert (linker.predict(X) == y).mean() > 0.9
    linker.save(tmp_path / "lineage.json")
    again = StudyLinker.load(tmp_path / "lineage.json")
    assert np.allclose(again.predict_proba(X), linker.predict_proba(X))
    assert again.cosine_offset == 0.05
    (tmp_path / "bad.json").write_text('{"features": ["cosine"]}')
    with pytest.raises(PagetagError, match="other features"):
        StudyLinker.load(tmp_path / "bad.json")


def test_role_order_and_strongest_claim():
    order = sorted(["blog", "news", "other", "press_release", "commercial", "scientific"], key=role_rank)
    assert order[:3] == ["scientific", "press_release", "news"] and order[-1] == "other"
    claims = [{"sentence": "a", "strength": "correlational", "score": 0.99},
              {"sentence": "b", "strength": "direct_causal", "score": 0.6},
              {"sentence": "c", "strength": "direct_causal", "score": 0.8}]
    assert strongest_claim(claims)["sentence"] == "c"
    assert strongest_claim(None) is None and strongest_claim([{"strength": "unknown"}]) is None


def _records_file(tmp_path, texts) -> Path:
    """Records with text, labels and claims, as an upstream classify run with claims would write them."""
    labels = {"asthma_press_release_en.html": "press_release", "asthma_news_fr.txt": "news",
              "asthma_blog_de.txt": "blog", "asthma_cohort_news_en.txt": "news",
              "asthma_cohort_press_release_de.txt": "press_release"}
    claims = {"asthma_blog_de.txt": [{"sentence": "Tirzolimab verhindert Asthmaanfälle.", "strength": "direct_causal",
                                      "score": 0.91}],
              "asthma_news_fr.txt": [{"sentence": "Un anticorps réduit les crises.", "strength": "conditional_causal",
                                      "score": 0.7}]}
    path = tmp_path / "records.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for name in ["asthma_blog_de.txt", "asthma_cohort_news_en.txt", "asthma_news_fr.txt",
                     "asthma_cohort_press_release_de.txt", "asthma_press_release_en.html"]:
            record = {"input": name, "text": texts[name], "error": None,
                      "labels": {"source_type": {"label": labels[name], "score": 0.9},
                                 "evidence_level": {"label": "rct", "score": 0.8}}}
            if name in claims:
                record["claims"] = claims[name]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.write(json.dumps({"input": "gone.html", "error": "no such file"}) + "\n")
    return path


def test_link_records_orders_roles_and_shows_claims(tmp_path, texts, capsys):
    records = _records_file(tmp_path, texts)
    assert main(["link", "--json", str(records)]) == 1  # the record that already failed is reported
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0] == {"input": "gone.html", "error": "no such file"}
    trial = out[1]
    assert [p["input"] for p in trial["pages"]] == ["asthma_press_release_en.html", "asthma_news_fr.txt",
                                                    "asthma_blog_de.txt"]
    assert trial["pages"][2]["strongest_claim"]["strength"] == "direct_causal"
    assert trial["pages"][0]["strongest_claim"] is None
    assert [p["input"] for p in out[2]["pages"]] == ["asthma_cohort_press_release_de.txt", "asthma_cohort_news_en.txt"]

    assert main(["link", str(records)]) == 1
    captured = capsys.readouterr()
    assert "pagetag: error: gone.html: no such file\n" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("group 1 · 3 pages · NCT05512347") or lines[0].startswith("group 1 · 3 pages")
    assert "618" in lines[0] and "marwick" in lines[0]
    assert lines[1].split()[0] == "press_release" and lines[2].split()[0] == "news"
    assert any("strongest claim (direct_causal): Tirzolimab verhindert" in line for line in lines)


def test_link_files_with_a_bad_input(tmp_path, capsys):
    sources = [str(DATA / name) for name in TRIAL] + [str(tmp_path / "missing.html")]
    assert main(["link", "--json", *sources]) == 1
    captured = capsys.readouterr()
    groups = [json.loads(line) for line in captured.out.splitlines()]
    assert groups[0] == {"input": str(tmp_path / "missing.html"), "error": "no such file"}
    assert sorted(p["input"] for p in groups[1]["pages"]) == sorted(sources[:3])
    assert all(p["source_type"]["label"] for p in groups[1]["pages"])  # classified on the way


def test_bad_records_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"input": "a.html"}\n{not json\n', encoding="utf-8")
    with pytest.raises(PagetagError, match="line 2 is not JSON"):
        read_records(str(path))
    assert main(["link", str(path), str(DATA / TRIAL[0])]) == 1
    err = capsys.readouterr().err
    assert f"pagetag: error: {path}: line 2 is not JSON (expected `pagetag classify --json` output)\n" in err


def test_cli_import_stays_light():
    code = "import sys, pipeline.cli; print(sorted(m for m in ('numpy', 'pipeline.lineage') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.stdout.strip() == "[]"


def test_study_summary_of_a_group_handles_pages_with_and_without_a_publication_date():
    from pipeline.lineage import _common

    undated = [fingerprint("Researchers enrolled 120 patients in trial NCT01234567.", "en").summary() for _ in range(2)]
    assert undated[0]["published"] is None
    common = _common(undated)
    assert common["registry_ids"] == ["NCT01234567"] and "published" not in common
    dated = [{**u, "published": "2021-05-14"} for u in undated]
    assert _common(dated)["published"] == ["2021-05-14"]
