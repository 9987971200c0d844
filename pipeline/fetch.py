"""Read one input (http(s) URL, local file, FIFO or stdin) into a decoded :class:`Page`.

Every failure raises :class:`~pipeline.errors.InputError` with a one-line message. ``timeout`` bounds the
whole read of one input (connect, headers, body; every chunk checks the deadline); the engines in
:mod:`pipeline.engines` also enforce it from outside, for the stalls no chunk loop sees. The work handed
to extraction is bounded too: at most :data:`MAX_EXTRACT_CHARS` characters and :data:`MAX_NESTING`
levels of nested elements (a cut page carries a warning).
"""

from __future__ import annotations

import codecs
import errno
import http.client
import io
import json
import math
import os
import re
import select
import socket
import ssl
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field

import charset_normalizer

from pipeline import __version__
from pipeline.errors import InputError

MAX_REDIRECTS = 5
MAX_TIMEOUT = 86_400.0
"""The longest accepted ``timeout`` (one day): it must be a finite number of seconds."""
MAX_EXTRACT_CHARS = 1_000_000
"""Characters of one page handed to extraction. A page over it first loses scripts and styles: the largest
of 1,140 benchmark pages has 1.6 million characters, 170,000 without them; a dense 1-million one cleans in ~2 s."""
MAX_NESTING = 128
"""Element nesting kept for extraction; deeper tags are dropped, their text kept (lxml stops at 255)."""
USER_AGENT = f"pagetag/{__version__} (+health page classifier)"
ACCEPTED_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
READ_CHUNK = 64 * 1024
WESTERN_ENCODINGS = ("cp1252", "iso8859_15", "latin_1")
_NOT_WEB_ENCODINGS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "utf-7", "undefined"})
"""Text codecs that no web page is written in: a page declaring one has its encoding detected instead."""

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
_FILE_ERRORS = {
    errno.ENOENT: "no such file",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop)",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "not a directory: a part of the path is a file",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENXIO: "cannot be read (a socket or a device without a reader)",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_STRONG_HTML = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|li|ul|ol|h[1-6]|article|section|table|tr|td|meta|title|script|style|main|header|footer)\b[^<>]*>",
    re.IGNORECASE,
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NON_TEXT_BLOCK = re.compile(r"<(/?)(script|style|svg|noscript|template)\b[^<>]{0,2000}>|<!--|-->", re.IGNORECASE)
_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)")
_RAW_TEXT = frozenset({"script", "style", "svg", "math", "noscript", "template", "textarea", "xmp"})
_NOT_NESTING = frozenset({
    # void elements and those whose end tag may be left out: they do not count as a nesting level
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "html", "head", "body", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot",
    "colgroup", "caption", "rp", "rt",
})


@dataclass
class Page:
    """One input as read: decoded HTML, or plain text when the input is already text."""

    input: str
    url: str | None
    html: str | None
    text: str | None
    warnings: list[str] = field(default_factory=list)


class _Deadline:
    """The end of an input's time budget; :meth:`remaining` raises once it has passed."""

    def __init__(self, timeout: float):
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
            raise ValueError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}], not {timeout!r}")
        self.timeout = timeout
        self.end = time.monotonic() + timeout

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise InputError(f"timed out after {self.timeout:g} s")
        return left


def read_input(source: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000, stdin=None) -> Page:
    """Read an http(s) URL, a local file or ``-`` (stdin) and return the decoded page."""
    deadline = _Deadline(timeout)
    if source == "-":
        raw = _read_stdin(sys.stdin if stdin is None else stdin, deadline, max_bytes)
        return _page_from_bytes(source, None, raw, declared_charset=None, label="standard input")
    if not source.strip():
        raise InputError("empty input name (expected a URL, a file or -)")
    try:
        scheme = urllib.parse.urlsplit(source).scheme.lower() if "://" in source else ""
    except ValueError as exc:
        raise InputError(f"invalid URL: {exc}") from None
    if scheme in ("http", "https"):
        return _read_url(source, deadline, max_bytes)
    if scheme:
        raise InputError(f"unsupported URL scheme {scheme!r} (only http and https are read)")
    return _read_file(source, deadline, max_bytes)


# --- files, FIFOs and stdin ----------------------------------------------------------------------

def _read_file(source: str, deadline: _Deadline, max_bytes: int) -> Page:
    try:
        info = os.stat(source)
        if stat.S_ISDIR(info.st_mode):
            raise InputError("is a directory, expected a file")
        if stat.S_ISREG(info.st_mode):
            if info.st_size > max_bytes:
                raise InputError(f"file is too large ({info.st_size:,} bytes, limit {max_bytes:,})")
            with open(source, "rb") as handle:
                raw = _read_chunks(handle.read, max_bytes, "file", deadline)
        else:  # a FIFO or a device: opening must not wait for a writer, reading must not outlive the deadline
            fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
            try:
                raw = _read_fd(fd, max_bytes, "file", deadline)
            finally:
                os.close(fd)
    except ValueError:  # a NUL in the name
        raise InputError("invalid file name (it contains a NUL character)") from None
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.islink(source):
            raise InputError("broken symbolic link (its target does not exist)") from None
        raise InputError(_FILE_ERRORS.get(exc.errno) or f"cannot read file: {exc.strerror or exc}") from None
    return _page_from_bytes(source, None, raw, declared_charset=None, label="file")


def read_stdin(*, timeout: float = 15.0, max_bytes: int = 5_000_000, stream=None) -> bytes:
    """The bytes of standard input (or ``stream``), read within ``timeout``; an engine reads ``-`` this way."""
    return _read_stdin(sys.stdin if stream is None else stream, _Deadline(timeout), max_bytes)


def _read_stdin(stream, deadline: _Deadline, max_bytes: int) -> bytes:
    """All of standard input (a pipe, file or terminal, or any stream object), within the deadline."""
    if stream is None:
        raise InputError("standard input is closed")
    binary = getattr(stream, "buffer", stream)
    try:
        fd = binary.fileno()
    except (OSError, ValueError, AttributeError):  # an in-memory stream
        return _read_chunks(binary.read, max_bytes, "standard input", deadline)
    try:
        return _read_fd(fd, max_bytes, "standard input", deadline)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            raise InputError("standard input is closed") from None
        raise InputError(f"cannot read standard input: {exc.strerror or exc}") from None


def _read_fd(fd: int, max_bytes: int, label: str, deadline: _Deadline) -> bytes:
    """Read a file descriptor to its end, waiting for data with ``select`` so the deadline always holds."""
    data = bytearray()
    while True:
        ready, _, _ = select.select([fd], [], [], deadline.remaining())
        if not ready:
            continue  # the next remaining() raises
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            continue
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > max_bytes:
            raise InputError(f"{label} is larger than the limit of {max_bytes:,} bytes")


def _read_chunks(read, max_bytes: int, label: str, deadline: _Deadline) -> bytes:
    """``read(n)`` until it returns nothing; refuse more than ``max_bytes`` and stop at the deadline."""
    data = bytearray()
    while True:
        chunk = read(min(READ_CHUNK, max_bytes + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk.encode("utf-8", "surrogateescape") if isinstance(chunk, str) else chunk
        if len(data) > max_bytes:
            raise InputError(f"{label} is larger than the limit of {max_bytes:,} bytes")
        deadline.remaining()


# --- URLs ------------------------------------------------------------------------------------------

class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow at most :data:`MAX_REDIRECTS` redirects, each to an http(s) URL, and say why one is refused."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri")
        if not location:
            fp.close()
            raise InputError(f"HTTP {code} redirect without a Location header")
        try:
            target = urllib.parse.urljoin(req.full_url, location)
            parts = urllib.parse.urlsplit(target)
        except ValueError:
            fp.close()
            raise InputError(f"HTTP {code} redirect to an invalid URL {location[:200]!r}") from None
        visited = getattr(req, "redirect_dict", {})
        refusal = None
        if parts.scheme.lower() not in ("http", "https"):
            refusal = f"redirect to a {parts.scheme or 'schemeless'}: URL refused (only http and https are read)"
        elif parts.username is not None:
            refusal = "redirect to a URL with a user name or password refused"
        elif target in visited:
            refusal = "redirect loop (a redirect leads back to a URL already visited)"
        elif sum(visited.values()) >= MAX_REDIRECTS:
            refusal = f"too many redirects (more than {MAX_REDIRECTS})"
        if refusal:
            fp.close()
            raise InputError(refusal)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


class _DeadlineSocketReader(io.RawIOBase):
    """A socket's reading side whose every ``recv`` waits at most until the input's deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline):
        super().__init__()
        self._sock, self._raw, self._deadline = sock, sock.makefile("rb", buffering=0), deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._deadline.remaining())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _deadline_handlers(deadline: _Deadline) -> tuple[urllib.request.BaseHandler, ...]:
    """urllib handlers whose responses read status line, headers and body within ``deadline``.

    A server that sends one byte per second never trips a per-read socket timeout; bounding every
    read by the time left bounds the whole response.
    """

    class Response(http.client.HTTPResponse):
        def __init__(self, sock, *args, **kwargs):
            super().__init__(sock, *args, **kwargs)
            self.fp = io.BufferedReader(_DeadlineSocketReader(sock, deadline))

    class HTTPConnection(http.client.HTTPConnection):
        response_class = Response

    class HTTPSConnection(http.client.HTTPSConnection):
        response_class = Response

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPSConnection, req, context=self._context)

    return HTTPHandler(), HTTPSHandler()


def _read_url(url: str, deadline: _Deadline, max_bytes: int) -> Page:
    try:
        parts = urllib.parse.urlsplit(url)
        hostname, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise InputError(f"invalid URL: {exc}") from None
    if parts.username is not None:
        raise InputError("URLs with a user name or password (user:pass@host) are not supported")
    if not hostname:
        raise InputError("invalid URL: no host name")
    opener = urllib.request.build_opener(_HttpOnlyRedirects(), *_deadline_handlers(deadline))
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9",
            "Accept-Encoding": "gzip, deflate",
        },
    )
    timeout = deadline.timeout
    try:
        with opener.open(request, timeout=deadline.remaining()) as response:
            final_url = response.geturl()
            content_type = response.headers.get_content_type()
            if response.headers.get("Content-Type") and content_type not in ACCEPTED_CONTENT_TYPES:
                raise InputError(f"unsupported content type {content_type} (expected an HTML page or plain text)")
            length = response.headers.get("Content-Length", "").strip()
            expected = int(length) if length.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise InputError(f"page is too large ({expected:,} bytes, limit {max_bytes:,})")
            raw = _read_chunks(response.read1, max_bytes, "page", deadline)
            if expected is not None and len(raw) < expected:
                raise InputError(f"page is truncated: the connection closed after {len(raw):,} of {expected:,} bytes")
            body = _decode_content(raw, response.headers.get("Content-Encoding", ""), max_bytes)
            charset = response.headers.get_param("charset")
    except InputError:
        raise
    except urllib.error.HTTPError as exc:
        detail = " (nothing to read: the request was not conditional)" if exc.code == 304 else ""
        raise InputError(f"HTTP {exc.code} {exc.reason}".rstrip() + detail) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            raise InputError(f"timed out after {timeout:g} s (connecting)") from None
        raise InputError(f"cannot connect: {_describe_reason(exc.reason)}") from None
    except (socket.timeout, TimeoutError):
        raise InputError(f"timed out after {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise InputError(f"TLS error: {exc.reason or exc}") from None
    except http.client.IncompleteRead as exc:
        raise InputError(f"page is truncated: the connection closed after {len(exc.partial):,} bytes") from None
    except http.client.RemoteDisconnected:
        raise InputError("the server closed the connection without a response") from None
    except http.client.InvalidURL as exc:
        raise InputError(f"invalid URL: {exc}") from None
    except http.client.HTTPException as exc:
        raise InputError(f"invalid HTTP response: {type(exc).__name__} {exc}".rstrip()) from None
    except (ValueError, UnicodeError) as exc:
        raise InputError(f"invalid URL: {exc}") from None
    except OSError as exc:
        raise InputError(f"network error: {exc.strerror or exc}") from None
    return _page_from_bytes(url, final_url, body, declared_charset=charset if isinstance(charset, str) else None,
                            label="page")


def _describe_reason(reason) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host name"
    return str(getattr(reason, "strerror", None) or reason)


def _decode_content(raw: bytes, content_encoding: str, max_bytes: int) -> bytes:
    """Undo gzip (every member) or deflate (zlib-wrapped or raw), capping the decompressed size."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise InputError(f"unsupported content encoding {encoding!r}")
    if encoding == "deflate":
        zlib_header = len(raw) >= 2 and raw[0] & 0x0F == 8 and (raw[0] << 8 | raw[1]) % 31 == 0
        wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
    else:
        wbits = 16 + zlib.MAX_WBITS
    output = bytearray()
    data = raw
    try:
        while True:
            decompressor = zlib.decompressobj(wbits)
            output += decompressor.decompress(data, max_bytes + 1 - len(output))
            if len(output) > max_bytes or decompressor.unconsumed_tail:
                raise InputError(f"page decompresses to more than the limit of {max_bytes:,} bytes")
            if not decompressor.eof:
                raise InputError(f"truncated {encoding} content (the compressed data ends early)")
            data = decompressor.unused_data
            if wbits != 16 + zlib.MAX_WBITS or not data.strip(b"\x00"):
                return bytes(output)  # one deflate stream, or the last gzip member (zero padding ignored)
    except zlib.error:
        raise InputError(f"corrupt {encoding} content") from None


# --- bytes to page ---------------------------------------------------------------------------------

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
    if looks_like_json(text):
        raise InputError(f"{label} is JSON data, not an HTML page or text")
    if looks_like_html(text):
        html, warnings = bound_html(text)
        return Page(input=source, url=url, html=html, text=None, warnings=warnings)
    if len(text) > MAX_EXTRACT_CHARS:
        return Page(input=source, url=url, html=None, text=_cut(text, "\n"), warnings=[_cut_warning()])
    return Page(input=source, url=url, html=None, text=text)


def looks_like_html(text: str) -> bool:
    """Tell HTML from plain text by content: document tags, or several common tags."""
    head = text[:4096]
    if _STRONG_HTML.search(head):
        return True
    return len(_HTML_TAG.findall(text[:20_000])) >= 3


def looks_like_json(text: str) -> bool:
    """A JSON document or JSON lines: starts with ``{`` or ``[`` and parses (the whole, or its first line)."""
    body = text.strip()
    if body[:1] not in ("{", "["):
        return False
    for candidate in (body, body.split("\n", 1)[0]):
        try:
            json.loads(candidate)
            return True
        except ValueError:
            continue
    return False


def _cut(text: str, boundary: str) -> str:
    """``text`` cut to :data:`MAX_EXTRACT_CHARS`, at the last ``boundary`` of its second half if there is one."""
    cut = text.rfind(boundary, MAX_EXTRACT_CHARS // 2, MAX_EXTRACT_CHARS)
    return text[: cut if cut >= 0 else MAX_EXTRACT_CHARS]


def _cut_warning() -> str:
    return f"page cut to its first {MAX_EXTRACT_CHARS:,} characters for extraction"


def bound_html(html: str) -> tuple[str, list[str]]:
    """``html`` made safe to extract: at most :data:`MAX_EXTRACT_CHARS` and :data:`MAX_NESTING` levels deep.

    A page over the size first loses its scripts, styles, SVG and comments (extraction drops them
    anyway), then is cut at a tag; both the cut and a flattening are reported as warnings.
    """
    warnings = []
    if len(html) > MAX_EXTRACT_CHARS:
        html = _drop_non_text_blocks(html[: 4 * MAX_EXTRACT_CHARS])
        if len(html) > MAX_EXTRACT_CHARS:
            html = _cut(html, "<")
            warnings.append(_cut_warning())
    flat, dropped = _flatten_nesting(html)
    if dropped:
        warnings.append(f"nesting deeper than {MAX_NESTING} levels flattened ({dropped:,} tags dropped)")
    return flat, warnings


def _drop_non_text_blocks(html: str) -> str:
    """``html`` without script/style/svg/noscript/template elements and comments (one linear pass)."""
    pieces, position, closing = [], 0, None
    for match in _NON_TEXT_BLOCK.finditer(html):
        token = match.group(0)
        if closing is None:
            if token == "<!--":
                closing = "-->"
            elif match.group(2) and not match.group(1):
                closing = match.group(2).lower()
            else:
                continue
            pieces.append(html[position:match.start()])
        elif (closing == "-->" and token == "-->") or (match.group(1) and (match.group(2) or "").lower() == closing):
            closing, position = None, match.end()
    if closing is None:
        pieces.append(html[position:])
    return "".join(pieces)


def _flatten_nesting(html: str) -> tuple[str, int]:
    """Drop the tags of elements nested deeper than :data:`MAX_NESTING` (and their end tags); keep all text.

    Depth counts elements that must be closed; script/style/svg/... contents are skipped (their
    ``<a>`` strings are not tags).
    """
    depth = dropped_open = 0
    raw_text = None
    cuts = []
    for match in _TAG_START.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        if raw_text:
            if closing and name == raw_text:
                raw_text = None
            continue
        if name in _NOT_NESTING:
            continue
        if name in _RAW_TEXT:
            raw_text = None if closing else name
            continue
        if closing:
            if not dropped_open:
                depth -= depth > 0
                continue
            dropped_open -= 1
        elif depth < MAX_NESTING:
            depth += 1
            continue
        else:
            dropped_open += 1
        end = html.find(">", match.end())
        cuts.append((match.start(), len(html) if end < 0 else end + 1))
    if not cuts:
        return html, 0
    pieces, position = [], 0
    for start, end in cuts:
        pieces.append(html[position:start])
        position = end
    pieces.append(html[position:])
    return "".join(pieces), len(cuts)


def decode_bytes(raw: bytes, declared_charset: str | None = None) -> str:
    """Decode with BOM, then declared/meta charset, then UTF-8, then detection; never raises."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw.decode(codec, errors="replace")
    has_nul = b"\x00" in raw[:4096]
    declared = _codec_name(declared_charset)
    if declared and (has_nul or not declared.startswith(("utf-16", "utf-32"))):
        try:
            return raw.decode(declared)
        except UnicodeDecodeError:
            pass
    if has_nul:
        wide = _utf16_without_bom(raw[:4096])
        return raw.decode(wide, errors="replace") if wide else raw.decode("latin-1")
    candidates = []
    meta = _META_CHARSET.search(raw[:8192])
    if meta:
        candidates.append(_codec_name(meta.group(1).decode("ascii", "ignore"), in_document=True))
    candidates.append("utf-8")
    for codec in candidates:
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


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte is NUL (Latin text in UTF-16 without a byte order mark)."""
    even, odd = sample[0::2], sample[1::2]
    if not odd:
        return None
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


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


def _codec_name(charset: str | None, *, in_document: bool = False) -> str | None:
    """Python text codec for a charset label, or None for an unknown or non-text one (base64, rot13, ...).

    latin-1/ascii become cp1252 as browsers do; a UTF-16/32 label inside the document itself means
    UTF-8 (the HTML rule: a page that can declare its charset in ASCII is not UTF-16).
    """
    if not charset:
        return None
    try:
        info = codecs.lookup(charset.strip().strip("\"'"))
    except (LookupError, ValueError):  # unknown, or a NUL in the label
        return None
    name = info.name
    if not getattr(info, "_is_text_encoding", True) or name in _NOT_WEB_ENCODINGS:
        return None
    if in_document and name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name
