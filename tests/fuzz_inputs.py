"""Generated odd and broken inputs, and the contract every run must keep (tests/test_fuzz.py, benchmarks/fuzz.py).

The contract: one valid JSON line per input, in input order, on stdout that is valid UTF-8; no traceback
on stderr; exit status 0 or 1. All text here is written for these tests.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import random
import zlib
from pathlib import Path

from local_server import Route, dripping, raw_response

from pipeline.errors import display_name

SENTENCES = [
    "Regular walking lowers blood pressure in older adults.",
    "The trial randomly assigned 300 patients to the new drug or a placebo.",
    "La fièvre disparaît le plus souvent en trois jours chez l'enfant.",
    "Die Grippeimpfung wird für Menschen über sechzig Jahren empfohlen.",
    "El ejercicio regular mejora el sueño y reduce el estrés.",
    "Säännöllinen liikunta alentaa verenpainetta ja parantaa unta.",
    "十分な睡眠は心臓の健康に大切です。",
    "Регулярные прогулки снижают давление у пожилых людей.",
    "ممارسة الرياضة بانتظام تخفض ضغط الدم.",
    "Our shop ships vitamin gummies worldwide with free returns!",
    "Share on Facebook | Twitter | Email",
    "Read also: five ways to sleep better this winter",
]
ENCODINGS = ["utf-8", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "shift_jis", "koi8-r",
             "utf-8-sig", "cp1256", "gb18030"]
CHARSET_LABELS = ["utf-8", "windows-1252", "iso-8859-1", "utf-16", "base64", "rot13", "hex", "zlib", "punycode",
                  "utf-7", "x-unknown", "", "utf\x00-8", "shift_jis", "koi8-r"]
TAGS = ["div", "p", "span", "a", "article", "section", "li", "ul", "table", "td", "tr", "h1", "h2", "script",
        "style", "nav", "footer", "b", "i", "svg", "template", "main"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(n))


def _html(rng: random.Random) -> str:
    """A random page: random tags, depth (sometimes hundreds of levels), comments, attributes, charset."""
    depth = rng.choice([1, 3, 10, 40, 300])
    opened = [rng.choice(TAGS) for _ in range(depth)]
    head = f'<meta charset="{rng.choice(CHARSET_LABELS)}">' if rng.random() < 0.6 else ""
    body = "".join(f'<{tag} class="c{i}">' + (_text(rng, 1) if rng.random() < 0.3 else "") for i, tag in enumerate(opened))
    body += f"<p>{_text(rng, rng.randint(0, 12))}</p>"
    if rng.random() < 0.3:
        body += "<!-- " + _text(rng, 2) + (" -->" if rng.random() < 0.7 else "")
    closing = "".join(f"</{tag}>" for tag in reversed(opened)) if rng.random() < 0.8 else ""
    doctype = "<!DOCTYPE html>" if rng.random() < 0.7 else ""
    return f"{doctype}<html><head>{head}<title>{_text(rng, 1)}</title></head><body>{body}{closing}</body></html>"


def _encode(rng: random.Random, text: str) -> bytes:
    encoding = rng.choice(ENCODINGS)
    return codecs.encode(text, encoding, "replace") if encoding not in ("utf-16", "utf-32") else text.encode(encoding)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """Truncate, splice random bytes or control characters into, or prepend a magic number to ``data``."""
    roll = rng.random()
    if roll < 0.15 and data:
        return data[: rng.randrange(len(data))]
    if roll < 0.3:
        at = rng.randrange(len(data) + 1)
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + data[at:]
    if roll < 0.35:
        return rng.choice([b"%PDF-1.4\n", b"\x1f\x8b\x08", b"PK\x03\x04", b"\x89PNG\r\n"]) + data
    if roll < 0.4:
        return bytes(b if rng.random() > 0.05 else rng.choice([0, 1, 7, 27, 127]) for b in data)
    return data


def _content(rng: random.Random) -> bytes:
    """The bytes of one generated input."""
    kind = rng.random()
    if kind < 0.45:
        return _mutate(rng, _encode(rng, _html(rng)))
    if kind < 0.65:
        return _mutate(rng, _encode(rng, _text(rng, rng.randint(1, 20))))
    if kind < 0.72:
        return json.dumps({"title": _text(rng, 1), "items": list(range(rng.randint(0, 5)))}).encode()
    if kind < 0.8:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 2000)))
    if kind < 0.85:
        return rng.choice([b"", b"   \n\t ", b"\x00" * 100, b"<", b"<html>", b"<html><body></body></html>"])
    if kind < 0.9:
        return ("<p>" + "x" * rng.randint(10_000, 300_000) + "</p>").encode()
    return gzip.compress(_html(rng).encode())


def make_files(root: Path, count: int, seed: int) -> list[str]:
    """``count`` inputs under ``root``: generated files plus directories, symlink loops, FIFOs, odd names."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    inputs = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.03:
            path = root / f"dir-{index}"
            path.mkdir()
        elif roll < 0.05:
            path = root / f"loop-{index}.html"
            path.symlink_to(root / f"loop-{index}.html")
        elif roll < 0.06:
            path = root / f"gone-{index}.html"
        elif roll < 0.065:
            path = root / f"fifo-{index}.html"
            os.mkfifo(path)
        else:
            suffix = rng.choice([".html", ".htm", ".txt", "", ".json"])
            odd = rng.choice(["", " with space", "\u00e9t\u00e9", "\udce9\udcff", " ", "#hash", "-dash"])
            path = root / f"{'-' if odd == '-dash' else ''}page-{index}{odd}{suffix}"
            with open(os.fsencode(path), "wb") as handle:  # a name may hold bytes that are not UTF-8
                handle.write(_content(rng))
        inputs.append(str(path))
    return inputs


def fault_routes(seed: int) -> dict[str, Route]:
    """Routes of a server that misbehaves in every way a crawler meets (all bounded in time)."""
    rng = random.Random(seed)
    page = _html(rng).encode()
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    routes: dict[str, Route] = {
        "/ok": (200, {"Content-Type": "text/html; charset=utf-8"}, page),
        "/drip-body": dripping(ok, page, interval=0.5),
        "/drip-head": dripping(ok + page, b"", drip_head=True, interval=0.5),
        "/404": (404, {"Content-Type": "text/html"}, b"<p>missing</p>"),
        "/500": (500, {}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/to-ftp": (302, {"Location": "ftp://127.0.0.1:9/x"}, b""),
        "/to-file": (302, {"Location": "file:///etc/hostname"}, b""),
        "/no-location": raw_response(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"),
        "/304": raw_response(b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        "/short": raw_response(ok.replace(b"\r\n\r\n", b"\r\nContent-Length: 99999\r\n\r\n") + page[:100]),
        "/garbage-status": raw_response(b"HTTP/1.1 abc\r\n\r\n"),
        "/not-http": raw_response(b"SSH-2.0-OpenSSH\r\n"),
        "/empty-reply": raw_response(b""),
        "/gzip-truncated": (200, {"Content-Encoding": "gzip"}, gzip.compress(page)[:-10]),
        "/gzip-multi": (200, {"Content-Encoding": "gzip"}, gzip.compress(page[:50]) + gzip.compress(page[50:])),
        "/deflate-raw": (200, {"Content-Encoding": "deflate"}, zlib.compress(page)[2:-4]),
        "/br": (200, {"Content-Encoding": "br"}, page),
        "/bomb": (200, {"Content-Encoding": "gzip"}, gzip.compress(b"<p>" + b"a" * 20_000_000)),
        "/pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7"),
        "/json": (200, {"Content-Type": "text/plain"}, b'{"a": [1, 2, 3]}'),
    }
    for index in range(20):
        content_type = rng.choice(["text/html", "text/plain", "text/html; charset=" + rng.choice(CHARSET_LABELS),
                                   "application/xhtml+xml", "text/html; charset=\"utf-16le\""])
        routes[f"/random-{index}"] = (200, {"Content-Type": content_type}, _content(rng))
    return routes


def make_urls(base: str, routes: dict[str, Route], count: int, seed: int, closed_port: int) -> list[str]:
    """``count`` URLs of the fault server (and a few of a closed port or with credentials)."""
    rng = random.Random(seed)
    extras = [f"http://127.0.0.1:{closed_port}/x", "http://user:pw@127.0.0.1:9/", "http://[::1", "ftp://127.0.0.1/"]
    return [rng.choice(extras) if rng.random() < 0.05 else base + rng.choice(list(routes)) for _ in range(count)]


def contract_violations(inputs: list[str], stdout: bytes, stderr: bytes, returncode: int) -> dict[str, int]:
    """How a run broke the contract: lost or misordered lines, invalid JSON or UTF-8, tracebacks, exit status."""
    problems = {"lost lines": 0, "misordered lines": 0, "invalid lines": 0, "tracebacks": stderr.count(b"Traceback"),
                "bad exit": int(returncode not in (0, 1))}
    try:
        lines = stdout.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        problems["invalid lines"] = len(inputs)
        return problems
    names = []
    for line in lines:
        try:
            record = json.loads(line)
            names.append(record["input"])
            assert ("labels" in record) != (record.get("error") is not None)
        except (ValueError, KeyError, AssertionError):
            problems["invalid lines"] += 1
    expected = [display_name(source) for source in inputs]
    problems["lost lines"] = max(0, len(expected) - len(names))
    problems["misordered lines"] = sum(a != b for a, b in zip(names, expected))
    return problems
