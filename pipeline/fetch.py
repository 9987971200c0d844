"""Read one input (URL, local file or stdin) into a decoded :class:`Page`.

Every failure raises :class:`~pipeline.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import codecs
import http.client
import re
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from pipeline import __version__
from pipeline.errors import InputError

MAX_REDIRECTS = 5
USER_AGENT = f"pagetag/{__version__} (+health page classifier)"
ACCEPTED_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
READ_CHUNK = 64 * 1024
WESTERN_ENCODINGS = ("cp1252", "iso8859_15", "latin_1")

_MAGIC_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
    (b"\x7fELF", "an executable"),
    (b"RIFF", "a RIFF media file"),
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_STRONG_HTML = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|li|ul|ol|h[1-6]|article|section|table|tr|td|meta|title|script|style|main|header|footer)\b[^<>]*>",
    re.IGNORECASE,
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass
class Page:
    """One input as read: decoded HTML, or plain text when the input is already text."""

    input: str
    url: str | None
    html: str | None
    text: str | None


def read_input(source: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000, stdin=None) -> Page:
    """Read an http(s) URL, a local file or ``-`` (stdin) and return the decoded page."""
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin
        raw = _read_capped(getattr(stream, "buffer", stream), max_bytes, "standard input")
        return _page_from_bytes(source, None, raw, declared_charset=None, label="standard input")
    try:
        scheme = urllib.parse.urlsplit(source).scheme.lower() if "://" in source else ""
    except ValueError as exc:
        raise InputError(f"invalid URL: {exc}") from None
    if scheme in ("http", "https"):
        return _read_url(source, timeout=timeout, max_bytes=max_bytes)
    if scheme:
        raise InputError(f"unsupported URL scheme {scheme!r} (only http and https are read)")
    return _read_file(source, max_bytes=max_bytes)


def _read_file(source: str, *, max_bytes: int) -> Page:
    path = Path(source)
    try:
        if path.is_dir():
            raise InputError("is a directory, expected a file")
        if not path.exists():
            raise InputError("no such file")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"file is too large ({size:,} bytes, limit {max_bytes:,})")
        with path.open("rb") as handle:
            raw = _read_capped(handle, max_bytes, "file")
    except PermissionError:
        raise InputError("permission denied") from None
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}") from None
    return _page_from_bytes(source, None, raw, declared_charset=None, label="file")


def _read_capped(stream, max_bytes: int, label: str) -> bytes:
    """Read at most ``max_bytes`` from a binary stream; refuse anything larger."""
    raw = stream.read(max_bytes + 1)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    if len(raw) > max_bytes:
        raise InputError(f"{label} is larger than the limit of {max_bytes:,} bytes")
    return raw


class _LimitedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS
    max_repeats = 1


def _read_url(url: str, *, timeout: float, max_bytes: int) -> Page:
    try:
        hostname = urllib.parse.urlsplit(url).hostname
    except ValueError as exc:
        raise InputError(f"invalid URL: {exc}") from None
    if not hostname:
        raise InputError("invalid URL: no host name")
    opener = urllib.request.build_opener(_LimitedRedirects())
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9",
            "Accept-Encoding": "gzip, deflate",
        },
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            final_url = response.geturl()
            content_type = response.headers.get_content_type()
            if response.headers.get("Content-Type") and content_type not in ACCEPTED_CONTENT_TYPES:
                raise InputError(f"unsupported content type {content_type} (expected an HTML page or plain text)")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise InputError(f"page is too large ({int(length):,} bytes, limit {max_bytes:,})")
            body = _read_body(response, response.headers.get("Content-Encoding", ""), max_bytes)
            charset = response.headers.get_content_charset()
    except InputError:
        raise
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise InputError(f"too many redirects or a redirect loop (limit {MAX_REDIRECTS})") from None
        raise InputError(f"HTTP {exc.code} {exc.reason}".rstrip()) from None
    except urllib.error.URLError as exc:
        raise InputError(f"cannot connect: {_describe_reason(exc.reason)}") from None
    except (socket.timeout, TimeoutError):
        raise InputError(f"timed out after {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise InputError(f"TLS error: {exc.reason or exc}") from None
    except http.client.HTTPException as exc:
        raise InputError(f"invalid URL or HTTP response: {exc}") from None
    except (ValueError, UnicodeError) as exc:
        raise InputError(f"invalid URL: {exc}") from None
    except OSError as exc:
        raise InputError(f"network error: {exc.strerror or exc}") from None
    return _page_from_bytes(url, final_url, body, declared_charset=charset, label="page")


def _describe_reason(reason) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "unknown host name"
    return str(getattr(reason, "strerror", None) or reason)


def _read_body(response, content_encoding: str, max_bytes: int) -> bytes:
    """Read the body, decompressing gzip/deflate with a cap on the decompressed size."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return _read_capped(response, max_bytes, "page")
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise InputError(f"unsupported content encoding {encoding!r}")
    decompressor = zlib.decompressobj(wbits=47 if encoding != "deflate" else 15)
    output = bytearray()
    received = 0
    try:
        while chunk := response.read(READ_CHUNK):
            received += len(chunk)
            if received > max_bytes:
                raise InputError(f"page is larger than the limit of {max_bytes:,} bytes")
            output += decompressor.decompress(chunk, max_bytes + 1 - len(output))
            if len(output) > max_bytes or decompressor.unconsumed_tail:
                raise InputError(f"page decompresses to more than the limit of {max_bytes:,} bytes")
        output += decompressor.flush()
    except zlib.error:
        raise InputError(f"corrupt {encoding} content") from None
    if len(output) > max_bytes:
        raise InputError(f"page decompresses to more than the limit of {max_bytes:,} bytes")
    return bytes(output)


def _page_from_bytes(source: str, url: str | None, raw: bytes, *, declared_charset: str | None, label: str) -> Page:
    if not raw.strip():
        raise InputError(f"{label} is empty")
    for magic, kind in _MAGIC_SIGNATURES:
        if raw.startswith(magic):
            raise InputError(f"{label} is {kind}, not an HTML page or text")
    text = decode_bytes(raw, declared_charset)
    sample = text[:20_000]
    if "\x00" in sample or len(_CONTROL_CHARS.findall(sample)) > max(8, len(sample) // 100):
        raise InputError(f"{label} looks binary, not an HTML page or text")
    if not text.strip():
        raise InputError(f"{label} is empty")
    if looks_like_html(text):
        return Page(input=source, url=url, html=text, text=None)
    return Page(input=source, url=url, html=None, text=text)


def looks_like_html(text: str) -> bool:
    """Tell HTML from plain text by content: document tags, or several common tags."""
    head = text[:4096]
    if _STRONG_HTML.search(head):
        return True
    return len(_HTML_TAG.findall(text[:20_000])) >= 3


def decode_bytes(raw: bytes, declared_charset: str | None = None) -> str:
    """Decode with BOM, then declared/meta charset, then UTF-8, then detection; never raises."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw.decode(codec, errors="replace")
    if b"\x00" in raw[:4096]:
        return raw.decode("latin-1")
    candidates = [declared_charset]
    meta = _META_CHARSET.search(raw[:8192])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "ignore"))
    candidates.append("utf-8")
    for charset in candidates:
        codec = _codec_name(charset)
        if codec:
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                continue
    if _UTF8_MULTIBYTE.search(raw):
        # mostly UTF-8 with a few stray single-byte characters (mixed encodings): keep the UTF-8 and
        # read each invalid byte as cp1252 instead of guessing one codec for the whole page
        return raw.decode("utf-8", errors=_CP1252_FALLBACK)
    encoding = _detect_encoding(raw[:200_000])
    return raw.decode(encoding or "utf-8", errors="replace")


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start:error.end]
    return bad.decode("cp1252", errors="replace"), error.end


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CP1252_FALLBACK = "pagetag-cp1252-fallback"
codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


def _detect_encoding(raw: bytes) -> str | None:
    """charset-normalizer's guess; among equally clean guesses prefer cp1252 (Western web pages)."""
    matches = list(charset_normalizer.from_bytes(raw))
    if not matches:
        return None
    least_chaos = min(match.chaos for match in matches)
    for match in matches:
        if match.encoding in WESTERN_ENCODINGS and match.chaos <= least_chaos + 0.01:
            return match.encoding
    return matches[0].encoding


def _codec_name(charset: str | None) -> str | None:
    """Python codec for a charset label; latin-1/ascii become cp1252 as browsers do."""
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name
