"""pagetag: classify health web pages by source type, evidence level and topic."""

__version__ = "0.1.0"

from pathlib import Path

CACHE_DIR = Path.home() / ".cache" / "pagetag"  # derived model files built on first use (never committed)
