"""A per-input step that misbehaves on purpose (crash, hang, memory blow-up), for the engine tests.

Worker processes import it by name, so it lives in a module of its own.
"""

import os
import signal
import time

from pipeline.engines import read_and_clean


def faulty_step(source: str, *, timeout: float, max_bytes: int, data: bytes | None = None):
    """:func:`read_and_clean`, except for the inputs named ``segfault``, ``hang``, ``memory`` and ``exit``."""
    if source == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif source == "hang":  # a stall that no timeout inside the step notices (as in C code)
        time.sleep(60)
    elif source == "memory":
        bytearray(8 << 30)
    elif source == "exit":
        os._exit(3)
    elif source.startswith("sleep:"):
        time.sleep(float(source.split(":")[1]))
        source = source.split(":", 2)[2]
    return read_and_clean(source, timeout=timeout, max_bytes=max_bytes, data=data)
