"""pagetag: classify health web pages by source type, evidence level and topic."""

__version__ = "0.1.0"

import os
from pathlib import Path
from typing import Callable

CACHE_DIR = Path.home() / ".cache" / "pagetag"  # derived model files built on first use (never committed)


def write_cache_file(path: Path, write: Callable[[Path], None]) -> None:
    """Create ``path`` through ``write(tmp)`` on a per-process temporary name, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")
    write(tmp)
    tmp.replace(path)
