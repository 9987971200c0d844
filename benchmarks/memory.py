"""Peak memory of a process and all its descendants (worker processes, fork server), sampled from /proc.

PSS (proportional set size) counts a page shared by several processes once in total, so the sum over
the tree is the memory the run really uses; the RSS sum counts shared pages once per process (an upper
bound). Linux only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry))
    return tree


def tree_memory_mb(root: int) -> tuple[float, float]:
    """(PSS, RSS) in MB summed over ``root`` and its descendants."""
    tree, pending, pss, rss = _children(), [root], 0, 0
    while pending:
        pid = pending.pop()
        pending.extend(tree.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, rss / 1024


class PeakMemory:
    """Sample ``tree_memory_mb(pid)`` every ``interval`` seconds in a thread; ``.pss``/``.rss`` keep the peaks."""

    def __init__(self, pid: int | None = None, interval: float = 0.1):
        self.pid, self.interval = pid or os.getpid(), interval
        self.pss = self.rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            pss, rss = tree_memory_mb(self.pid)
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
