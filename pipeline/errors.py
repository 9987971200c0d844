"""Exceptions that carry a one-line, user-facing message."""


class PagetagError(Exception):
    """Base class: str(exc) is a complete one-line message for the user."""


class InputError(PagetagError):
    """The input could not be read or turned into article text."""
