"""`evaluate` stage and `pagetag evaluate`: held-out quality of the committed models.

On the test split only (never seen in training or model selection): accuracy, macro-F1 and
per-class scores per head, on gold labels (the primary numbers) and on all real labels (gold + weak;
written pages never count), broken down by language and origin; confusion matrices and reliability
plots; ECE; one-vs-rest AUROC for ``rct`` and ``systematic_review``. Language invariance, measured:
translation consistency (share of test (page, translation) pairs given the same label), per-language
gold macro-F1, and leave-one-language-out transfer (each head's embedding model retrained without one
language, tested on that language; the text vote is left out there, it only matches languages it saw). Page evidence, measured: source type on the labelled real HTML pages of the test
split (grouped by site) with and without the page-evidence block, and every head on the gold test
pages as plain text (block blanked).

Writes ``metrics/heldout.json`` (summary, for `dvc metrics show`), ``metrics/heldout_detail.json``,
``plots/images/*.png`` and ``plots/predictions_*.csv`` (for `dvc plots show`) and the model card ``models/README.md``.
"""

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from sklearn.metrics import (accuracy_score, classification_report, confusion_matrix, f1_score,  # noqa: E402
                             roc_auc_score)

from pipeline.labels import HEADS, LABELS  # noqa: E402
from pipeline.linear_heads import text_votes  # noqa: E402
from pipeline.model import PageClassifier, column_groups  # noqa: E402
from pipeline.params import load_params  # noqa: E402
from pipeline.train import (SELECTION_LANGUAGES, WRITTEN, fit_config, load_training_table,  # noqa: E402
                            translation_consistency, translation_pairs)

AUROC_LABELS = ("rct", "systematic_review")
MIN_LANGUAGE_REPORT = 30  # per-language rows of the page-evidence table need this many test pages


def heldout_fingerprint(table: pd.DataFrame) -> str:
    """SHA-256 over the test split's ids, text hashes and labels: pins what the quality floors refer to."""
    test = table[table["split"] == "test"].sort_values("id")
    h = hashlib.sha256()
    for row in test[["id", "sha1", *HEADS]].itertuples(index=False):
        h.update("|".join(str(v) for v in row).encode())
    return h.hexdigest()


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE with equal-width confidence bins."""
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (confidence > lo) & (confidence <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - confidence[sel].mean())
    return float(ece)


def scores(y_true, y_pred) -> dict:
    return {"n": int(len(y_true)), "accuracy": round(accuracy_score(y_true, y_pred), 4),
            "macro_f1": round(f1_score(y_true, y_pred, average="macro", zero_division=0), 4)}


def gold_per_language(y, pred, gold: np.ndarray, languages: np.ndarray) -> dict[str, dict]:
    """:func:`scores` of the gold rows of each language of :data:`SELECTION_LANGUAGES` that has any."""
    return {lang: scores(y[sel], pred[sel]) for lang in SELECTION_LANGUAGES
            if (sel := gold & (languages == lang)).any()}


def evaluate_head(head: str, classes: list[str], proba: np.ndarray, table: pd.DataFrame,
                  plots: Path) -> tuple[dict, dict]:
    """Summary and detail metrics of one head on the test split (``proba``: one row per ``table`` row)."""
    rows = (table["split"] == "test").to_numpy() & table[head].notna().to_numpy()
    sub, proba = table[rows], proba[rows]
    classes = np.array(classes)
    pred = classes[proba.argmax(axis=1)]
    y = sub[head].to_numpy()
    gold = (sub[f"{head}_src"] == "gold").to_numpy()
    real = ~sub[f"{head}_src"].isin(WRITTEN).to_numpy()
    summary, detail = {}, {"labels_in_training": classes.tolist()}
    summary["gold_per_language"] = gold_per_language(y, pred, gold, sub["language"].to_numpy())
    pairs = translation_pairs(table, rows)
    if len(pairs):
        summary["translation_consistency"] = {"pairs": int(len(pairs)),
                                              "share": round(translation_consistency(pred, pairs), 4)}
    for name, sel in (("gold", gold), ("all", real)):
        if not sel.any():
            continue
        conf = proba[sel].max(axis=1)
        summary[name] = {**scores(y[sel], pred[sel]),
                         "ece": round(expected_calibration_error(conf, pred[sel] == y[sel]), 4)}
        detail[name] = {
            "per_class": classification_report(y[sel], pred[sel], output_dict=True, zero_division=0),
            "support": dict(Counter(y[sel])),
            "per_language": {lang: scores(y[sel & m], pred[sel & m])
                             for lang in sorted(sub["language"].unique())
                             if (m := (sub["language"] == lang).to_numpy())[sel].any()},
            "per_origin": {o: scores(y[sel & m], pred[sel & m]) for o in sorted(sub["origin"].unique())
                           if (m := (sub["origin"] == o).to_numpy())[sel].any()},
            "confusion_per_language": {
                lang: _confusion(y[sel & m], pred[sel & m]) for lang in sorted(sub["language"].unique())
                if (m := (sub["language"] == lang).to_numpy())[sel].any()},
        }
        _plot_confusion(y[sel], pred[sel], head, name, plots)
        _plot_reliability(conf, pred[sel] == y[sel], head, name, plots)
    pd.DataFrame({"actual": y[real], "predicted": pred[real], "gold": gold[real]}).to_csv(
        plots / f"predictions_{head}.csv", index=False)
    for label in AUROC_LABELS:
        if label in classes and (y[real] == label).any() and (y[real] != label).any():
            k = list(classes).index(label)
            summary[f"auroc_{label}"] = round(roc_auc_score(y[real] == label, proba[real][:, k]), 4)
    return summary, detail


def blank_pages(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` as if every page had been given as plain text (page-evidence block all 0)."""
    out = X.copy()
    out[column_groups(X.columns)["page"]] = 0.0
    return out


def page_evidence_effect(classifier: PageClassifier, table: pd.DataFrame, X: pd.DataFrame) -> dict:
    """Gold test macro-F1 with and without the page-evidence block.

    ``html_pages``: source type on the labelled real HTML pages (test split, grouped by site), overall
    and per language with at least :data:`MIN_LANGUAGE_REPORT` pages. ``gold_text_only``: every head
    on all gold test pages with the block blanked (what plain-text or stdin input gets).
    """
    test = (table["split"] == "test").to_numpy()
    out = {"html_pages": {}, "gold_text_only": {}}
    views = {"with_page": X[test], "without_page": blank_pages(X[test])}
    sub = table[test]
    probas = {name: classifier.predict_proba(frame, sub["clean_text"].tolist()) for name, frame in views.items()}
    html = (sub["origin"] == "html_bench").to_numpy() & (sub["source_type_src"] == "gold").to_numpy()
    classes = np.array(classifier.classes("source_type"))
    y, langs = sub["source_type"].to_numpy(), sub["language"].to_numpy()
    for name, proba in probas.items():
        pred = classes[proba["source_type"].argmax(axis=1)]
        row = {"all": scores(y[html], pred[html])}
        for lang in sorted(set(langs[html])):
            sel = html & (langs == lang)
            if sel.sum() >= MIN_LANGUAGE_REPORT:
                row[lang] = scores(y[sel], pred[sel])
        out["html_pages"][name] = row
    for head in HEADS:
        gold = (sub[f"{head}_src"] == "gold").to_numpy()
        classes = np.array(classifier.classes(head))
        out["gold_text_only"][head] = {name: scores(sub[head].to_numpy()[gold],
                                                    classes[proba[head].argmax(axis=1)][gold])["macro_f1"]
                                       for name, proba in probas.items()}
    return out


def text_vote_effect(classifier: PageClassifier, table: pd.DataFrame, X: pd.DataFrame, with_vote: dict) -> dict:
    """Per head with a text vote: gold test macro-F1 (all, per language) and translation consistency with the
    vote (``with_vote``: the committed probabilities) and with the same heads alone."""
    votes = text_votes(classifier.config)
    if not votes:
        return {}
    test = (table["split"] == "test").to_numpy()
    alone = PageClassifier(classifier.heads, {**classifier.config, "text_vote": {}}).predict_proba(X[test])
    out = {}
    for head, weight in votes.items():
        rows = table[head][test].notna().to_numpy()
        sub, classes = table[test][rows], np.array(classifier.classes(head))
        gold, langs, y = (sub[f"{head}_src"] == "gold").to_numpy(), sub["language"].to_numpy(), sub[head].to_numpy()
        pairs = translation_pairs(table, test & table[head].notna().to_numpy())
        out[head] = {"weight": weight}
        for name, proba in (("with_vote", with_vote[head][rows]), ("heads_alone", alone[head][rows])):
            pred = classes[proba.argmax(axis=1)]
            row = {"all": scores(y[gold], pred[gold])["macro_f1"],
                   **{lang: r["macro_f1"] for lang, r in gold_per_language(y, pred, gold, langs).items()}}
            if len(pairs):
                row["consistency"] = round(translation_consistency(pred, pairs), 4)
            out[head][name] = row
    return out


def _confusion(y, pred) -> dict:
    labels = sorted(set(y) | set(pred))
    return {"labels": labels, "matrix": confusion_matrix(y, pred, labels=labels).tolist()}


def _plot_confusion(y, pred, head, name, plots: Path) -> None:
    labels = [label for label in LABELS[head] if label in set(y) | set(pred)]
    cm = confusion_matrix(y, pred, labels=labels)
    fig, ax = plt.subplots(figsize=(1 + 0.7 * len(labels), 1 + 0.6 * len(labels)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i, j in np.ndindex(cm.shape):
        ax.text(j, i, cm[i, j], ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(f"{head} — held-out {name} labels (n={len(y)})")
    fig.tight_layout()
    (plots / "images").mkdir(parents=True, exist_ok=True)
    fig.savefig(plots / "images" / f"confusion_{head}_{name}.png", dpi=90)
    plt.close(fig)


def _plot_reliability(confidence, correct, head, name, plots: Path, bins: int = 10) -> None:
    edges = np.linspace(0, 1, bins + 1)
    mids, accs, counts = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (confidence > lo) & (confidence <= hi)
        if sel.any():
            mids.append(confidence[sel].mean())
            accs.append(correct[sel].mean())
            counts.append(sel.sum())
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(mids, accs, "o-", label="model")
    ax.set_xlabel("predicted probability of the top label")
    ax.set_ylabel("share correct")
    ece = expected_calibration_error(confidence, correct, bins)
    ax.set_title(f"{head} ({name}) — ECE {ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    (plots / "images").mkdir(parents=True, exist_ok=True)
    fig.savefig(plots / "images" / f"reliability_{head}_{name}.png", dpi=90)
    plt.close(fig)


def cross_lingual(head: str, best: dict, table: pd.DataFrame, X: pd.DataFrame, p: dict, languages) -> dict:
    """Macro-F1 on each language's gold test docs, trained with and without that language.

    Both models use the head's chosen configuration without calibration or text vote, so the difference is
    the transfer drop alone. One model with every language, one without each (fitted ``train.n_jobs`` at once).
    """
    labelled = table[head].notna().to_numpy()
    trainable = labelled & table["split"].isin(["train", "val"]).to_numpy()
    tests = {lang: labelled & (table["split"] == "test").to_numpy() & (table["language"] == lang).to_numpy()
             & (table[f"{head}_src"] == "gold").to_numpy() for lang in languages}
    tests = {lang: test for lang, test in tests.items() if test.sum() >= 10}
    fits = [trainable] + [trainable & (table["language"] != lang).to_numpy() for lang in tests]
    models = Parallel(n_jobs=p["n_jobs"])(delayed(fit_config)(best, head, table, X, rows, seed=p["seed"])
                                          for rows in fits)
    out = {}
    for lang, model in zip(tests, models[1:]):
        test = tests[lang]
        y = table[head][test].to_numpy()
        out[lang] = {"n_test": int(test.sum()), "with_language": scores(y, models[0].predict(X[test]))["macro_f1"],
                     "without_language": scores(y, model.predict(X[test]))["macro_f1"]}
        out[lang]["drop"] = round(out[lang]["with_language"] - out[lang]["without_language"], 4)
    return out


def probe_pages(model_dir: str | Path, probe_dirs: list[str]) -> dict:
    """The committed heads on written probe pages (``<dir>/expected.json``: labels per file).

    Probes are pages written like TAXONOMY.md's worked examples (the built-in examples and their versions
    in other languages): never trained on, reported as how many come out as the taxonomy says.
    """
    from pipeline.clean import clean_page
    from pipeline.fetch import read_input
    from pipeline.predict import Predictor

    predictor, out = Predictor(model_dir), {}
    for directory in probe_dirs:
        expected_path = Path(directory) / "expected.json"
        if not expected_path.exists():
            continue
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        files = sorted(expected)
        pages = [clean_page(read_input(str(Path(directory) / name))) for name in files]
        predicted = predictor.classify(pages)
        rows = {name: {head: {"expected": expected[name][head], "predicted": p["labels"][head]["label"]}
                       for head in HEADS} for name, p in zip(files, predicted)}
        out[directory] = {"pages": len(files),
                          "correct": {head: sum(r[head]["expected"] == r[head]["predicted"] for r in rows.values())
                                      for head in HEADS},
                          "per_page": rows}
    return out


def model_card(summary: dict, detail: dict, table: pd.DataFrame, config: dict, fingerprint: str) -> str:
    """The generated ``models/README.md``."""
    lines = [
        "# pagetag models — model card", "",
        "Generated by the `evaluate` stage (`dvc repro`); numbers are on the held-out test split, which no",
        "model or model-selection step has seen.", "",
        "## What", "",
        f"One scikit-learn pipeline per head in `pagetag.joblib` (joblib): embedding `{config['embedder']}` "
        f"(first {config['max_chars']} characters of the clean text), optionally language-centred, plus the cleaner's "
        "stats and a multilingual cue lexicon → logistic regression (class-balanced, gold documents up-weighted, "
        f"optionally languages balanced within classes) → {config.get('calibration', 'temperature')} calibration. Configuration chosen per head on "
        "the validation split "
        "(`metrics/selection.json`)."
        + (" A page that is not about health makes no health claim: evidence level's `not_applicable` probability "
           "is raised to topic's `non_health` probability (kept because it raised the validation score, "
           "`metrics/selection.json` → `evidence_level.couple_not_applicable`); the cross-lingual rows below "
           "score the heads alone." if config.get("couple_not_applicable") else ""), "",
        "## Training data", "",
        "Texts from `../shared/corpus` (not redistributed): FrCORE (fr), FakeHealth (en), GNAD10k (de), FTD (en), "
        "GINCO (sl + machine-translated en), medical abstracts (en), Cochrane abstracts and plain-language summaries "
        "(en), de_web (de/es/it), real HTML pages of `../shared/html_bench`, with gold annotations (the shared "
        "`gold.jsonl` and the project's `corpus/annotations/`) overriding weak provenance labels, plus written pages "
        "(translations of gold documents, contrast pages) that are trained on and never scored. Several sources are "
        "for research use only (scraped news, non-commercial licences): **the models inherit that restriction**.", "",
        "| head | train+val docs | languages (docs) |", "|---|---|---|",
    ]
    fit = table[table["split"].isin(["train", "val"])]
    for head in HEADS:
        sel = fit[fit[head].notna()]
        langs = ", ".join(f"{k} {v}" for k, v in Counter(sel["language"]).most_common())
        lines.append(f"| {head} | {len(sel)} | {langs} |")
    lines += ["", f"## Held-out results (fingerprint `{fingerprint[:16]}`)", "",
              "| head | gold n | gold acc | gold macro-F1 | gold ECE | all n | all macro-F1 |",
              "|---|---|---|---|---|---|---|"]
    for head in HEADS:
        g, a = summary[head].get("gold", {}), summary[head].get("all", {})
        lines.append(f"| {head} | {g.get('n')} | {g.get('accuracy')} | {g.get('macro_f1')} | {g.get('ece')} "
                     f"| {a.get('n')} | {a.get('macro_f1')} |")
    for label in AUROC_LABELS:
        if f"auroc_{label}" in summary["evidence_level"]:
            lines.append(f"\nOne-vs-rest AUROC `{label}` (all test labels): {summary['evidence_level'][f'auroc_{label}']}")
    lines += ["", "### Per language (gold test labels, macro-F1 / n)", "",
              "| head | " + " | ".join(sorted({lang for h in HEADS for lang in detail[h].get("gold", {})
                                                .get("per_language", {})})) + " |"]
    langs = sorted({lang for h in HEADS for lang in detail[h].get("gold", {}).get("per_language", {})})
    lines.append("|---|" + "---|" * len(langs))
    for head in HEADS:
        per = detail[head].get("gold", {}).get("per_language", {})
        lines.append(f"| {head} | " + " | ".join(
            f"{per[lang]['macro_f1']} / {per[lang]['n']}" if lang in per else "·" for lang in langs) + " |")
    lines += ["", "### Language invariance", "",
              "Translation consistency: share of test (page, translation) pairs given the same label "
              "(the translations are never trained on).", "",
              "| head | pairs | consistency |", "|---|---|---|"]
    for head in HEADS:
        tc = summary[head].get("translation_consistency", {})
        lines.append(f"| {head} | {tc.get('pairs', 0)} | {tc.get('share', '·')} |")
    page = summary.get("page_evidence", {})
    if page.get("html_pages"):
        langs = sorted({k for row in page["html_pages"].values() for k in row if k != "all"})
        lines += ["", "### Page evidence (source type, labelled real HTML pages of the test split, grouped by site)", "",
                  "| input | all | " + " | ".join(langs) + " |", "|---|---|" + "---|" * len(langs)]
        for name, row in page["html_pages"].items():
            cells = [f"{row[k]['macro_f1']} / {row[k]['n']}" if k in row else "·" for k in ["all", *langs]]
            lines.append(f"| {name.replace('_', ' ')} | " + " | ".join(cells) + " |")
        lines += ["", "Every gold test page read as plain text (page-evidence block blanked), macro-F1: " + ", ".join(
            f"{head} {r['without_page']} (with the block where there is HTML: {r['with_page']})"
            for head, r in page["gold_text_only"].items()) + "."]
    if summary.get("text_vote"):
        lines += ["", "### Text vote (gold test macro-F1 all / en / fr / de, translation consistency)", "",
                  "| head | weight | with the vote | heads alone |", "|---|---|---|---|"]
        for head, r in summary["text_vote"].items():
            cells = [" / ".join(str(r[name].get(k, "·")) for k in ("all", *SELECTION_LANGUAGES))
                     + f", {r[name].get('consistency', '·')}" for name in ("with_vote", "heads_alone")]
            lines.append(f"| {head} | {r['weight']} | " + " | ".join(cells) + " |")
    for directory, probe in detail.get("probes", {}).items():
        lines += ["", f"### Probe pages `{directory}` (written like TAXONOMY.md's worked examples; never trained on)", "",
                  "| page | " + " | ".join(HEADS) + " |", "|---|" + "---|" * len(HEADS)]
        for name, row in probe["per_page"].items():
            lines.append(f"| {name} | " + " | ".join(
                row[h]["predicted"] if row[h]["predicted"] == row[h]["expected"]
                else f"**{row[h]['predicted']}** (expected {row[h]['expected']})" for h in HEADS) + " |")
    lines += ["", "### Per class (gold test labels: F1 / support)", ""]
    for head in HEADS:
        pc = detail[head].get("gold", {}).get("per_class", {})
        cells = [f"`{k}` {v['f1-score']:.2f}/{int(v['support'])}" for k, v in pc.items()
                 if k in LABELS[head]]
        lines.append(f"- **{head}**: " + ", ".join(cells))
    lines += ["", "### Cross-lingual transfer (gold test docs of one language; macro-F1 trained with / without it)",
              ""]
    for head in HEADS:
        for lang, r in detail[head].get("cross_lingual", {}).items():
            lines.append(f"- {head}, {lang} (n={r['n_test']}): {r['with_language']} → {r['without_language']} "
                         f"(drop {r['drop']})")
    lines += ["", "## Known gaps", "",
              "- German press releases, commercial and SEO pages exist only as a handful of `de_web` pages; German "
              "source-type quality for those classes rests on cross-lingual transfer and the cue features.",
              "- `seo_content` and `forum` are thin everywhere (see the support counts above); their scores have "
              "wide uncertainty.",
              "- Evidence level and topic labels come almost only from the gold annotations (plus Cochrane → "
              "systematic_review, GNAD non-health sections, noisy medical-abstract classes); expect lower scores "
              "outside English.",
              "- Language is confounded with labels in the training data (see `../shared/corpus/README.md`); the "
              "per-language table and the transfer drop above measure what is left of that.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--no-transfer", action="store_true", help="skip the cross-lingual retraining")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    p = params["evaluate"]
    table, X = load_training_table(params)
    classifier = PageClassifier.load(params["train"]["out_dir"])
    selection = json.loads(Path(params["train"]["selection_out"]).read_text(encoding="utf-8"))
    plots = Path(p["plots_dir"])
    summary, detail = {}, {}
    test = (table["split"] == "test").to_numpy()
    probas = classifier.predict_proba(X[test], table["clean_text"][test].tolist())
    for head in HEADS:
        summary[head], detail[head] = evaluate_head(head, classifier.classes(head), probas[head], table[test], plots)
        if not args.no_transfer:
            detail[head]["cross_lingual"] = cross_lingual(head, selection[head]["best"], table, X,
                                                          params["train"], p["transfer_languages"])
            summary[head]["transfer_drop"] = {k: v["drop"] for k, v in detail[head]["cross_lingual"].items()}
    summary["page_evidence"] = page_evidence_effect(classifier, table, X)
    summary["text_vote"] = text_vote_effect(classifier, table, X, probas)
    probes = probe_pages(params["train"]["out_dir"], p["probe_dirs"])
    summary["probes"] = {d: {k: v for k, v in r.items() if k != "per_page"} for d, r in probes.items()}
    detail["probes"] = probes
    fingerprint = heldout_fingerprint(table)
    summary["heldout_fingerprint"] = fingerprint
    Path(p["metrics_out"]).parent.mkdir(parents=True, exist_ok=True)
    Path(p["metrics_out"]).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    Path(p["detail_out"]).write_text(json.dumps(detail, indent=1), encoding="utf-8")
    Path(p["model_card"]).write_text(model_card(summary, detail, table, classifier.config, fingerprint),
                                     encoding="utf-8")
    print(format_summary(summary))
    return 0


def format_summary(summary: dict) -> str:
    """A readable table of the held-out summary."""
    lines = [f"{'head':<16}{'gold n':>8}{'gold acc':>10}{'gold F1':>9}{'ECE':>7}{'all n':>8}{'all F1':>8}"]
    for head in HEADS:
        g, a = summary[head].get("gold", {}), summary[head].get("all", {})
        lines.append(f"{head:<16}{g.get('n', 0):>8}{g.get('accuracy', 0):>10.3f}{g.get('macro_f1', 0):>9.3f}"
                     f"{g.get('ece', 0):>7.3f}{a.get('n', 0):>8}{a.get('macro_f1', 0):>8.3f}")
    for label in AUROC_LABELS:
        if f"auroc_{label}" in summary["evidence_level"]:
            lines.append(f"AUROC {label}: {summary['evidence_level'][f'auroc_{label}']:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
