"""Does each weak-label source help? And what does class weighting do to the rare classes?

For every head, the chosen configuration (``metrics/selection.json``) is refitted on the train split
(1) as chosen, (2) without the weak labels of one origin at a time, and (3) without class weights;
each is scored on the gold documents of the validation split (the held-out test split is not used).
Needs the prepare/clean/embed stage outputs.

Usage: ``python benchmarks/weak_sources.py [--out benchmarks/results/weak_sources.md]``
"""

import argparse
import json
from pathlib import Path

from sklearn.metrics import f1_score

from pipeline.labels import HEADS
from pipeline.params import load_params
from pipeline.train import fit_config, load_training_table

RARE = {"source_type": ("seo_content", "forum"), "evidence_level": ("case_report", "uncontrolled_trial"),
        "topic": ("autoimmune", "mental_health")}


def gold_val_scores(model, table, X, head) -> dict:
    val = (table["split"] == "val").to_numpy() & (table[f"{head}_src"] == "gold").to_numpy()
    y, pred = table[head][val], model.predict(X[val])
    per_class = f1_score(y, pred, labels=list(RARE[head]), average=None, zero_division=0)
    return {"gold_val_macro_f1": round(f1_score(y, pred, average="macro", zero_division=0), 3),
            **{f"F1 {label}": round(v, 3) for label, v in zip(RARE[head], per_class)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="benchmarks/results/weak_sources.md")
    args = parser.parse_args()
    params = load_params(args.params)
    seed = params["train"]["seed"]
    table, X = load_training_table(params)
    selection = json.loads(Path(params["train"]["selection_out"]).read_text(encoding="utf-8"))
    lines = ["# Weak-label sources and class weighting (gold validation documents)", "",
             "Command: `python benchmarks/weak_sources.py`", ""]
    for head in HEADS:
        best = selection[head]["best"]
        train = table[head].notna().to_numpy() & (table["split"] == "train").to_numpy()
        weak = (table[f"{head}_src"] == "weak").to_numpy()
        runs = [("as chosen", train, best)]
        for origin in sorted(table.loc[train & weak, "origin"].unique()):
            runs.append((f"without weak {origin} ({int((train & weak & (table['origin'] == origin)).sum())})",
                         train & ~(weak & (table["origin"] == origin).to_numpy()), best))
        runs.append(("no class weights", train, {**best, "class_weight": None}))
        rows = []
        for name, rows_mask, config in runs:
            model = fit_config(config, head, table, X, rows_mask, seed=seed)
            rows.append({"run": name, **gold_val_scores(model, table, X, head)})
            print(head, rows[-1], flush=True)
        cols = list(rows[0])
        lines += [f"## {head}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
        lines.append("")
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
