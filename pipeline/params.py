"""Read the pipeline's knobs from ``params.yaml`` (the single source of truth for `dvc repro`)."""

from pathlib import Path

import yaml


def load_params(path: str | Path = "params.yaml") -> dict:
    """Return the parsed params file as a dict."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)
