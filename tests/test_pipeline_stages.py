"""The real DVC stages end to end on a tiny corpus the tests write themselves, and the stage graph.

prepare → clean → embed → train → evaluate run in-process through their ``main(["--params", ...])``
entry points in a temporary working directory, with a params.yaml copied from the repository and
pointed at the generated corpus (tests/corpus_factory.py). No real corpus, no network, no hub.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from claims_factory import write_claims_inputs
from corpus_factory import REPO_PARAMS, tiny_params, write_corpus, write_params
from pipeline import clean_corpus, embed, evaluate, prepare, train, train_claims
from pipeline import params as params_module
from pipeline.labels import HEADS, LABELS
from pipeline.model import PageClassifier

ROOT = Path(__file__).resolve().parent.parent
DVC_YAML = ROOT / "dvc.yaml"
STAGES = (("prepare", prepare), ("clean", clean_corpus), ("embed", embed), ("train", train),
          ("evaluate", evaluate), ("claims", train_claims))

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                        "ignore::DeprecationWarning")


class TrackedDict(dict):
    """A params dict that records every key path read from it (nested dicts are tracked too)."""

    def __init__(self, data: dict, seen: set, prefix: tuple = ()):
        super().__init__({k: TrackedDict(v, seen, (*prefix, k)) if isinstance(v, dict) else v
                          for k, v in data.items()})
        self._seen, self._prefix = seen, prefix

    def __getitem__(self, key):
        self._seen.add((*self._prefix, key))
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._seen.add((*self._prefix, key))
        return super().get(key, default)


def leaf_paths(tree: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in tree.items():
        out += leaf_paths(value, (*prefix, key)) if isinstance(value, dict) else [(*prefix, key)]
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run all six stages once on the tiny corpus; return paths, stdout and timings."""
    import datasets

    from pipeline.use_encoders import StaticUSE

    StaticUSE()  # build the token table (first use on a new machine) before any stage is timed
    work = tmp_path_factory.mktemp("stages")
    corpus = write_corpus(work / "shared_corpus")
    params = tiny_params(corpus.data_dir)
    params["claims"].update(write_claims_inputs(work / "claims_inputs", corpus.data_dir))
    params_path = write_params(work / "params.yaml", params)
    seen: set = set()
    logs, seconds = {}, {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", str(work / "hf_datasets"))
        tracked = lambda path, real=params_module.load_params: TrackedDict(real(path), seen)  # noqa: E731
        mp.setattr(params_module, "load_params", tracked)      # embed imports it inside main()
        for name, module in STAGES:
            if hasattr(module, "load_params"):
                mp.setattr(module, "load_params", tracked)
        for name, module in STAGES:
            start, out = time.perf_counter(), io.StringIO()
            with redirect_stdout(out):
                assert module.main(["--params", str(params_path)]) == 0, name
            logs[name], seconds[name] = out.getvalue(), round(time.perf_counter() - start, 1)
        # a second embed run must come entirely from the cache
        out = io.StringIO()
        with redirect_stdout(out):
            assert embed.main(["--params", str(params_path)]) == 0
        logs["embed_again"] = out.getvalue()
    print(f"stage seconds: {seconds}")
    return {"work": work, "params": params, "corpus": corpus, "seen": seen, "logs": logs, "seconds": seconds}


def manifest_ids(run) -> list[str]:
    path = run["work"] / run["params"]["prepare"]["out_dir"] / "manifest.jsonl"
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_clean_stage_covers_the_manifest(run):
    import datasets

    ds = datasets.load_from_disk(str(run["work"] / run["params"]["clean"]["out_dir"]))
    assert sorted(ds["id"]) == sorted(manifest_ids(run))
    assert {"clean_text", "language", "n_removed"} <= set(ds.column_names)
    assert all(len(t) > 100 for t in ds["clean_text"])
    assert {"en", "fr", "de"} <= set(ds["language"])


def test_embed_stage_writes_one_unit_vector_per_document(run):
    p = run["params"]["embed"]
    with np.load(run["work"] / p["out"]) as data:
        ids, vectors, tails = data["ids"].tolist(), data["vectors"], data["tail_vectors"]
    assert sorted(ids) == sorted(manifest_ids(run))
    for view in (vectors, tails):
        assert view.shape == (len(ids), 512) and np.isfinite(view).all()
        np.testing.assert_allclose(np.linalg.norm(view, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(vectors, tails), "the tail view must differ from the head view"
    assert len(list((run["work"] / p["cache_dir"]).glob("*.npz"))) == 2, "one embedding cache per view"
    assert f"{len(ids)} documents, views vectors, tail_vectors (0 newly embedded)" in run["logs"]["embed_again"]


def test_train_stage_saves_a_loadable_classifier(run):
    p = run["params"]
    classifier = PageClassifier.load(run["work"] / p["train"]["out_dir"])
    assert set(classifier.heads) == set(HEADS)
    assert classifier.config["embedder"] == p["embed"]["model"]
    assert classifier.config["max_chars"] == p["embed"]["max_chars"]
    # predict the held-out documents from the stage's own feature table
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(run["work"])
        table, X = train.load_training_table(p)
    test = (table["split"] == "test").to_numpy()
    predictions = classifier.predict_frame(X[test], table["clean_text"][test].tolist())
    assert len(predictions) == test.sum()
    for row in predictions:
        for head in HEADS:
            assert row[head].label in LABELS[head]
            assert 0.0 <= row[head].score <= 1.0
            assert abs(sum(row[head].scores.values()) - 1.0) < 1e-6


def test_train_stage_selection_table(run):
    selection = json.loads((run["work"] / run["params"]["train"]["selection_out"]).read_text(encoding="utf-8"))
    p = run["params"]["train"]
    grid = p["grid"]
    config = PageClassifier.load(run["work"] / p["out_dir"]).config
    for head in HEADS:
        candidates, best = selection[head]["candidates"], selection[head]["best"]
        kinds = [c["feature_set"] for c in candidates]
        assert kinds[:2] == ["majority", "tfidf_char_lr"]
        assert sorted(kinds[2:]) == sorted(grid["feature_set"] * len(p["views"][head]))
        assert sorted(map(tuple, (c["views"] for c in candidates[2:]))) \
            == sorted(tuple(v) for v in p["views"][head] for _ in grid["feature_set"])
        assert best["feature_set"] in grid["feature_set"]
        assert 0.0 <= best["val_macro_f1"] <= 1.0
        votes = best["text_vote_scores"]  # every vote weight scored; the best (lightest on ties) chosen
        assert sorted(map(float, votes)) == sorted(p["text_vote"])
        top = max(v["selection_score"] for v in votes.values())
        assert best["text_vote"] == min(float(w) for w, v in votes.items() if v["selection_score"] == top)
        assert config["text_vote"][head] == best["text_vote"]
        assert config["text_vote_temperature"][head] == best["text_vote_temperature"] > 0
    coupling = selection["evidence_level"]["couple_not_applicable"]
    assert config["couple_not_applicable"] == (coupling["on"]["selection_score"] > coupling["off"]["selection_score"])


def test_evaluate_stage_metrics_plots_and_model_card(run):
    work, p = run["work"], run["params"]["evaluate"]
    metrics = json.loads((work / p["metrics_out"]).read_text(encoding="utf-8"))
    for head in HEADS:
        for part in ("gold", "all"):
            assert 0.0 <= metrics[head][part]["macro_f1"] <= 1.0, (head, part)
            assert metrics[head][part]["n"] > 0
    assert re.fullmatch(r"[0-9a-f]{64}", metrics["heldout_fingerprint"])
    detail = json.loads((work / p["detail_out"]).read_text(encoding="utf-8"))
    assert set(HEADS) <= set(detail)
    plots = work / p["plots_dir"]
    for head in HEADS:
        for kind in ("confusion", "reliability"):
            png = plots / "images" / f"{kind}_{head}_gold.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        frame = pd.read_csv(plots / f"predictions_{head}.csv")
        assert list(frame.columns) == ["actual", "predicted", "gold"] and len(frame) == metrics[head]["all"]["n"]
    card = (work / p["model_card"]).read_text(encoding="utf-8")
    assert metrics["heldout_fingerprint"][:16] in card
    assert all(f"| {head} |" in card for head in HEADS)


def test_stage_outputs_match_dvc_yaml(run):
    """Every `outs`/`metrics`/`plots` path in dvc.yaml was written by the run (params paths = dvc paths)."""
    spec = yaml.safe_load(DVC_YAML.read_text(encoding="utf-8"))
    for name, stage in spec["stages"].items():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                path = next(iter(entry)) if isinstance(entry, dict) else entry
                assert (run["work"] / path).exists(), f"{name}: {kind} {path} not written"


def test_every_param_is_read_by_some_stage(run):
    """Walking params.yaml: each leaf key is read during the run (patched load_params records reads)."""
    params = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    unread = [".".join(path) for path in leaf_paths(params) if path not in run["seen"]]
    assert not unread, f"params.yaml keys no stage reads: {unread}"


def test_whole_run_is_quick(run):
    assert sum(run["seconds"].values()) < 120, run["seconds"]


# --- params ↔ code, without running anything ---------------------------------------------------

def test_every_param_key_is_referenced_in_code():
    """Every leaf key name of params.yaml appears as a string key in pipeline/*.py or in dvc.yaml."""
    params = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    code = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "pipeline").glob("*.py")))
    dvc = DVC_YAML.read_text(encoding="utf-8")
    missing = []
    for path in leaf_paths(params):
        key = path[-1]
        quoted = re.search(rf"""["']{re.escape(key)}["']""", code)
        if not quoted and not re.search(rf"\b{re.escape('.'.join(path))}\b|\$\{{{re.escape(key)}\}}", dvc):
            missing.append(".".join(path))
    assert not missing, f"params.yaml keys not referenced in pipeline/*.py or dvc.yaml: {missing}"


def test_dvc_stage_params_exist_and_train_changes_do_not_rerun_embed():
    spec = yaml.safe_load(DVC_YAML.read_text(encoding="utf-8"))
    params = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    stages = spec["stages"]
    assert list(stages) == ["prepare", "clean", "embed", "train", "evaluate", "claims"]

    def param_refs(stage):
        return [p for entry in stages[stage].get("params", [])
                for p in (entry if isinstance(entry, dict) else [entry])]

    for name in stages:
        for ref in param_refs(name):
            node = params
            for part in ref.split("."):
                assert isinstance(node, dict) and part in node, f"{name}: param {ref} not in params.yaml"
                node = node[part]
    # a train-only change re-runs train and evaluate, never the earlier stages
    for name in ("prepare", "clean", "embed"):
        assert not any(ref == "train" or ref.startswith("train.") for ref in param_refs(name)), name
    assert "train" in param_refs("train") and "train" in param_refs("evaluate")
    # embed's own settings that change the vectors reach train, and embed does not depend on train outputs
    assert {"embed.model", "embed.max_chars", "embed.chunk_chars"} <= set(param_refs("train"))
    train_outs = {next(iter(o)) if isinstance(o, dict) else o
                  for kind in ("outs", "metrics") for o in stages["train"].get(kind, [])}
    assert not train_outs & set(stages["embed"]["deps"])
    assert train_outs <= set(stages["evaluate"]["deps"])
    # each stage runs its own module, and that module is among its deps
    for name, stage in stages.items():
        module = stage["cmd"].split("-m ", 1)[1].split()[0]
        assert f"{module.replace('.', '/')}.py" in stage["deps"], name


def _dvc(*args, cwd):
    dvc = Path(sys.executable).with_name("dvc")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run([str(dvc), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_dvc_accepts_the_stage_graph(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(DVC_YAML, repo / "dvc.yaml")
    shutil.copy(REPO_PARAMS, repo / "params.yaml")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    init = _dvc("init", "-q", cwd=repo)
    assert init.returncode == 0, init.stderr
    dag = _dvc("dag", "--dot", cwd=repo)
    assert dag.returncode == 0, dag.stderr
    edges = set(re.findall(r'"(\w+)" -> "(\w+)"', dag.stdout))
    assert {("prepare", "clean"), ("clean", "embed"), ("embed", "train"), ("train", "evaluate"),
            ("prepare", "train"), ("prepare", "evaluate")} <= edges, dag.stdout
    status = _dvc("status", cwd=repo)
    assert status.returncode == 0, status.stderr
    for name in ("prepare", "clean", "embed", "train", "evaluate"):
        assert f"{name}:" in status.stdout


# --- bugs found while writing these tests ---------------------------------------------------------

def test_train_survives_a_class_with_a_single_document():
    rng = np.random.default_rng(0)
    n = 40
    labels = ["news"] * 20 + ["scientific"] * 19 + ["forum"]
    table = pd.DataFrame({"source_type": labels, "source_type_src": ["weak"] * n, "split": ["train"] * n,
                          "language": ["en", "fr"] * (n // 2)})
    emb = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"e{i}" for i in range(8)])
    cheap = pd.DataFrame(rng.normal(size=(n, 3)), columns=["stat_n_chars", "cue_placebo", "cue_price"])
    X = pd.concat([table[["language"]].rename(columns={"language": "lang"}), emb, cheap], axis=1)
    best = {"feature_set": "embedding", "C": 1.0, "center_languages": True, "gold_weight": 3.0,
            "balance_languages": True}
    p = {"calibration": "sigmoid", "calibration_folds": 2, "seed": 0}
    model = train.fit_final("source_type", best, table, X, p)
    assert "forum" in model.classes_


def test_not_applicable_follows_non_health():
    import numpy as np

    from pipeline.linear_heads import couple_not_applicable

    evidence_classes, topic_classes = ["not_applicable", "rct", "unsupported"], ["non_health", "oncology"]
    evidence = np.array([[0.1, 0.6, 0.3], [0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    topic = np.array([[0.9, 0.1], [0.2, 0.8], [1.0, 0.0]])
    out = couple_not_applicable(evidence, evidence_classes, topic, topic_classes)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[:, 0], [0.9, 0.7, 1.0])      # raised to P(non_health), never lowered
    np.testing.assert_allclose(out[0, 1:], [0.1 * 2 / 3, 0.1 / 3])  # the rest keep their proportions
    np.testing.assert_allclose(out[1], evidence[1])                 # a health page is left alone
    assert couple_not_applicable(evidence, ["rct", "x", "y"], topic, topic_classes) is evidence
