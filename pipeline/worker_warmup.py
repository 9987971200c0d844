"""Imported once by the process engine's fork server (:mod:`pipeline.engines`), never by the CLI itself.

It loads extraction (trafilatura, lxml), the language identifier and the cleaner's built-in embedder
(which decides off-topic teasers by meaning) and cleans one small page, so that
every worker forked from the server starts warm and shares those read-only pages with the others; then
it freezes the garbage collector's view of them, so that no collection in a worker touches (and copies) them.
"""

import contextlib
import gc

from pipeline.clean import builtin_similarity, clean_html

with contextlib.suppress(Exception):  # a failed warm-up only makes the first input of each worker slower
    builtin_similarity(["warm-up"])
    clean_html("<html><body><article><p>"
               + "Walking for half an hour a day keeps the heart healthy, doctors say. " * 3
               + "</p></article></body></html>")
gc.freeze()
