"""Exceptions that carry a one-line, user-facing message, and how such messages are written."""

import sys

PROG = "pagetag"


class PagetagError(Exception):
    """Base class: str(exc) is a complete one-line message for the user."""


class InputError(PagetagError):
    """The input could not be read or turned into article text."""


def one_line(exc: BaseException) -> str:
    """A one-line message for an exception: PagetagError text as is, others prefixed with their type."""
    message = " ".join(str(exc).split())
    if isinstance(exc, PagetagError):
        return message or type(exc).__name__
    return f"unexpected {type(exc).__name__}" + (f": {message}" if message else "")


def display_name(name: str) -> str:
    """``name`` (or a message holding it) as valid UTF-8: bytes that were not UTF-8 (a file name read with
    surrogateescape) become ``\\xNN``."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that does not stand for a byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def report_error(input_name: str, message: str) -> None:
    """Print ``pagetag: error: <input>: <reason>`` on stderr."""
    print(f"{PROG}: error: {display_name(input_name)}: {display_name(message)}", file=sys.stderr)


def report_warning(input_name: str, message: str) -> None:
    """Print ``pagetag: warning: <input>: <warning>`` on stderr."""
    print(f"{PROG}: warning: {display_name(input_name)}: {message}", file=sys.stderr)
