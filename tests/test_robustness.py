"""Faults a crawler meets, read one input at a time (pipeline/fetch.py, pipeline/engines.read_and_clean).

Servers run on 127.0.0.1 only; dripping ones stop by themselves. Every page is written for these tests.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from local_server import dripping, raw_response, serve_routes

import pipeline.fetch
from pipeline.cli import main
from pipeline.engines import read_and_clean
from pipeline.errors import InputError
from pipeline.fetch import MAX_NESTING, read_input

FRENCH = ("<html><head><title>Fièvre</title></head><body><article><p>La fièvre est un symptôme fréquent chez "
          "l'enfant : la plupart du temps elle n'est pas grave et disparaît en trois jours. Les médecins "
          "conseillent de bien faire boire l'enfant et de consulter si elle dure plus longtemps.</p>"
          "</article></body></html>")
ENGLISH_TEXT = ("Regular physical activity lowers blood pressure. Adults should aim for at least 150 minutes of "
                "moderate activity a week, for example brisk walking or cycling, spread over several days.")
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
NON_TEXT_CHARSETS = ["base64", "rot13", "hex", "zlib", "bz2", "uu", "quopri", "punycode", "utf-7", "no-such-charset"]


def _gzip_members(*parts: str) -> bytes:
    return b"".join(gzip.compress(part.encode()) for part in parts)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _response(status_line: str, headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{status_line}\r\n{head}\r\n".encode("latin-1") + body


@pytest.fixture(scope="module")
def ftp_listener():
    """A listening socket standing in for an FTP server: nothing may ever connect to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


@pytest.fixture(scope="module")
def server(ftp_listener):
    body = FRENCH.encode()
    half = FRENCH[: len(FRENCH) // 2], FRENCH[len(FRENCH) // 2:]
    truncated_gzip = gzip.compress(body)[:-30]
    ftp_url = f"ftp://127.0.0.1:{ftp_listener.getsockname()[1]}/page.html"
    routes = {
        "/drip-body": dripping(HEAD, body * 20, interval=0.05),
        "/drip-head": dripping(HEAD + body, b"", drip_head=True, interval=0.05),
        "/to-ftp": (302, {"Location": ftp_url}, b""),
        "/hop-to-ftp": (301, {"Location": "/to-ftp"}, b""),
        "/to-file": (302, {"Location": "file:///etc/hostname"}, b""),
        "/to-data": (307, {"Location": "data:text/html,<p>hello</p>"}, b""),
        "/no-location": raw_response(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"),
        "/not-modified": raw_response(b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        "/chain-1": (302, {"Location": "/chain-2"}, b""),
        "/chain-2": (302, {"Location": "/chain-3"}, b""),
        "/chain-3": (302, {"Location": "/chain-4"}, b""),
        "/chain-4": (302, {"Location": "/chain-5"}, b""),
        "/chain-5": (302, {"Location": "/chain-6"}, b""),
        "/chain-6": (302, {"Location": "/page.html"}, b""),
        "/page.html": (200, {"Content-Type": "text/html; charset=utf-8"}, body),
        "/short-body": raw_response(_response("HTTP/1.1 200 OK", {"Content-Type": "text/html",
                                                                  "Content-Length": "5000"}, body[:300])),
        "/truncated-chunked": raw_response(_response("HTTP/1.1 200 OK", {"Content-Type": "text/html",
                                                                         "Transfer-Encoding": "chunked"},
                                                     b"400\r\n" + body[:200])),
        "/truncated-gzip": (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, truncated_gzip),
        "/multi-gzip": (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, _gzip_members(*half)),
        "/raw-deflate": (200, {"Content-Type": "text/html", "Content-Encoding": "deflate"}, _raw_deflate(body)),
        "/zlib-deflate": (200, {"Content-Type": "text/html", "Content-Encoding": "deflate"}, zlib.compress(body)),
        "/nul-charset": raw_response(_response("HTTP/1.1 200 OK", {"Content-Type": "text/html; charset=utf\x00-8",
                                                                   "Content-Length": str(len(body))}, body)),
        "/utf-16le": (200, {"Content-Type": "text/html; charset=utf-16le"}, FRENCH.encode("utf-16-le")),
        "/meta-utf-16": (200, {"Content-Type": "text/html"}, FRENCH.replace("<head>", '<head><meta charset="utf-16">').encode()),
        "/json-as-text": (200, {"Content-Type": "text/plain"}, b'{"title": "Fever", "text": "La fi\\u00e8vre"}'),
    }
    for label in NON_TEXT_CHARSETS:
        routes[f"/meta-{label}"] = (200, {"Content-Type": "text/html"},
                                    FRENCH.replace("<head>", f'<head><meta charset="{label}">').encode())
        routes[f"/header-{label}"] = (200, {"Content-Type": f"text/html; charset={label}"}, body)
    with serve_routes(routes, default=(404, {}, b"")) as url:
        yield url


def _timed_read(source: str, timeout: float):
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        read_input(source, timeout=timeout)
    return str(info.value), time.monotonic() - start


# --- the deadline covers the whole input -------------------------------------------------------

@pytest.mark.parametrize("path", ["/drip-body", "/drip-head"])
def test_a_dripping_server_times_out_at_the_deadline(server, path):
    message, elapsed = _timed_read(server + path, timeout=1.0)
    assert message.startswith("timed out after 1 s")
    assert 0.9 < elapsed < 2.0


def test_a_fifo_without_writer_times_out(tmp_path):
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    message, elapsed = _timed_read(str(fifo), timeout=0.8)
    assert message == "timed out after 0.8 s" and elapsed < 1.8


def test_a_fifo_with_a_writer_is_read(tmp_path):
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as pipe:
            pipe.write(FRENCH.encode())

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    outcome = read_and_clean(str(fifo), timeout=5)
    writer.join(5)
    assert outcome.error is None and outcome.page.language == "fr"


def test_stdin_that_never_ends_times_out():
    read_end, write_end = os.pipe()
    try:
        with open(read_end, "rb", closefd=False) as stream:
            start = time.monotonic()
            with pytest.raises(InputError, match="timed out after 0.5 s"):
                read_input("-", timeout=0.5, stdin=stream)
            assert time.monotonic() - start < 1.5
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("code", ["import sys", "import os, sys; os.close(0)"], ids=["at start", "later"])
def test_closed_stdin_is_a_clear_error(code):
    script = f"{code}; from pipeline.cli import main; sys.exit(main(['clean', '-']))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    redirect = "0<&-" if code == "import sys" else ""
    run = subprocess.run(["sh", "-c", f'exec "$0" -c "$1" {redirect}', sys.executable, script], capture_output=True,
                         text=True, env=env, timeout=60)
    assert run.returncode == 1 and run.stderr == "pagetag: error: -: standard input is closed\n"


def test_cli_with_a_huge_max_bytes(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text(ENGLISH_TEXT, encoding="utf-8")
    assert main(["clean", "--engine", "threads", "--max-bytes", "100000000000", str(path)]) == 0
    assert ENGLISH_TEXT in capsys.readouterr().out


# --- redirects: only http(s) at every hop, and a message that says what happened ---------------

@pytest.mark.parametrize(("path", "message"), [
    ("/to-ftp", "redirect to a ftp: URL refused (only http and https are read)"),
    ("/hop-to-ftp", "redirect to a ftp: URL refused (only http and https are read)"),
    ("/to-file", "redirect to a file: URL refused (only http and https are read)"),
    ("/to-data", "redirect to a data: URL refused (only http and https are read)"),
    ("/no-location", "HTTP 302 redirect without a Location header"),
    ("/not-modified", "HTTP 304 Not Modified"),
    ("/chain-1", "too many redirects (more than 5)"),
])
def test_redirect_faults(server, ftp_listener, path, message):
    with pytest.raises(InputError) as info:
        read_input(server + path, timeout=3)
    assert str(info.value).startswith(message)
    with pytest.raises(BlockingIOError):
        ftp_listener.accept()  # nobody ever connected to the "FTP server"


def test_five_redirects_are_followed(server):
    assert read_input(f"{server}/chain-2", timeout=3).url == f"{server}/page.html"


@pytest.mark.parametrize(("url", "message"), [
    ("http://user:secret@127.0.0.1:9/page.html", "URLs with a user name or password (user:pass@host) are not supported"),
    ("", "empty input name (expected a URL, a file or -)"),
    ("  ", "empty input name (expected a URL, a file or -)"),
])
def test_misleading_messages_are_fixed(url, message):
    with pytest.raises(InputError) as info:
        read_input(url, timeout=2)
    assert str(info.value) == message


# --- bodies: truncation is an error, every compression member is read --------------------------

@pytest.mark.parametrize(("path", "message"), [
    ("/short-body", "page is truncated: the connection closed after 300 of 5,000 bytes"),
    ("/truncated-chunked", "page is truncated"),
    ("/truncated-gzip", "truncated gzip content (the compressed data ends early)"),
])
def test_truncated_bodies_are_errors(server, path, message):
    with pytest.raises(InputError) as info:
        read_input(server + path, timeout=3)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("path", ["/multi-gzip", "/raw-deflate", "/zlib-deflate"])
def test_every_compressed_member_and_both_deflates(server, path):
    assert read_input(server + path, timeout=3).html == FRENCH


# --- charsets ----------------------------------------------------------------------------------

@pytest.mark.parametrize("label", NON_TEXT_CHARSETS)
@pytest.mark.parametrize("where", ["meta", "header"])
def test_unknown_or_non_text_charsets_fall_back_to_detection(server, where, label):
    assert read_input(f"{server}/{where}-{label}", timeout=3).html == FRENCH.replace(
        "<head>", f'<head><meta charset="{label}">' if where == "meta" else "<head>")


def test_nul_in_the_header_charset(server):
    assert read_input(f"{server}/nul-charset", timeout=3).html == FRENCH


def test_utf16le_without_bom(server, tmp_path):
    assert read_input(f"{server}/utf-16le", timeout=3).html == FRENCH
    path = tmp_path / "wide.html"
    path.write_bytes(FRENCH.encode("utf-16-le"))
    assert read_input(str(path)).html == FRENCH
    path.write_bytes(ENGLISH_TEXT.encode("utf-16-be"))
    assert read_input(str(path)).text == ENGLISH_TEXT


def test_meta_utf16_on_a_utf8_page_is_read_as_utf8(server):
    outcome = read_and_clean(f"{server}/meta-utf-16", timeout=3)
    assert outcome.error is None and outcome.page.language == "fr" and "fièvre" in outcome.page.text


# --- files -------------------------------------------------------------------------------------

def test_symlinks(tmp_path):
    (tmp_path / "a.html").symlink_to(tmp_path / "b.html")
    (tmp_path / "b.html").symlink_to(tmp_path / "a.html")
    (tmp_path / "dangling.html").symlink_to(tmp_path / "gone.html")
    with pytest.raises(InputError, match=r"^too many levels of symbolic links \(a symlink loop\)$"):
        read_input(str(tmp_path / "a.html"))
    with pytest.raises(InputError, match=r"^broken symbolic link \(its target does not exist\)$"):
        read_input(str(tmp_path / "dangling.html"))


@pytest.mark.parametrize("content", [b'{"title": "Fever", "items": [1, 2]}', b'[{"a": 1}, {"a": 2}]\n',
                                     b'{"id": 1, "text": "one"}\n{"id": 2, "text": "two"}\n'])
def test_json_files_are_refused(tmp_path, content, server):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match="^file is JSON data, not an HTML page or text$"):
        read_input(str(path))
    with pytest.raises(InputError, match="^page is JSON data"):
        read_input(f"{server}/json-as-text", timeout=3)


def test_text_that_merely_starts_with_a_bracket_is_text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("[1] Regular walking lowers blood pressure in older adults, a cohort study found.", "utf-8")
    assert read_input(str(path)).text.startswith("[1] Regular walking")


def test_a_huge_max_bytes_allocates_only_what_is_read(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(ENGLISH_TEXT, encoding="utf-8")
    assert read_input(str(path), max_bytes=100_000_000_000).text == ENGLISH_TEXT
    assert read_input("-", max_bytes=100_000_000_000, stdin=io.BytesIO(ENGLISH_TEXT.encode())).text == ENGLISH_TEXT


def test_infinite_or_huge_timeouts_are_refused():
    for timeout in (float("inf"), float("nan"), 1e300, 0):
        with pytest.raises(ValueError, match="timeout must be a number of seconds"):
            read_input("-", timeout=timeout, stdin=io.BytesIO(b"text"))


# --- bounded extraction work -------------------------------------------------------------------

def test_deep_nesting_is_flattened_and_the_text_kept(tmp_path):
    depth = 2 * MAX_NESTING + 50
    path = tmp_path / "deep.html"
    path.write_text("<html><body>" + "<div><span>" * depth + f"<p>{ENGLISH_TEXT}</p>" + "</span></div>" * depth
                    + "</body></html>", encoding="utf-8")
    outcome = read_and_clean(str(path))
    assert outcome.error is None and outcome.page.text == ENGLISH_TEXT
    dropped = 2 * (2 * depth - MAX_NESTING)  # the start and end tags of every level past the limit
    assert outcome.warnings == [f"nesting deeper than {MAX_NESTING} levels flattened ({dropped:,} tags dropped)"]


def test_a_huge_page_is_cut_for_extraction_and_says_so(tmp_path, monkeypatch):
    limit = 100_000
    monkeypatch.setattr(pipeline.fetch, "MAX_EXTRACT_CHARS", limit)  # the real limit works the same, slower
    scripts = "<script>var tags = '<div><div><div>';</script>" * (limit // 30)  # 1.5 × limit
    article = f"<article><p>{ENGLISH_TEXT}</p></article>"
    path = tmp_path / "scripts.html"
    path.write_text(f"<html><body>{scripts}<!-- {scripts} -->{article}</body></html>", encoding="utf-8")
    outcome = read_and_clean(str(path))
    assert outcome.error is None and outcome.page.text == ENGLISH_TEXT and outcome.warnings == []
    path.write_text(f"<html><body>{article}" + "<p>Filler paragraph with a few words.</p>" * limit
                    + "</body></html>", encoding="utf-8")
    outcome = read_and_clean(str(path), max_bytes=50_000_000)
    assert outcome.error is None and outcome.page.text.startswith(ENGLISH_TEXT)
    assert outcome.warnings == [f"page cut to its first {limit:,} characters for extraction"]
    assert len(outcome.page.text) < limit


@pytest.mark.parametrize("text", ["十分な睡眠は心臓の健康に大切です。大人は毎晩七時間以上眠ることが勧められています。",
                                  "充足的睡眠对心脏健康很重要。成年人每晚应该睡七个小时以上。",
                                  "การนอนหลับที่เพียงพอช่วยให้หัวใจแข็งแรง ผู้ใหญ่ควรนอนหลับอย่างน้อยเจ็ดชั่วโมงต่อคืน"],
                         ids=["ja", "zh", "th"])
def test_short_pages_without_spaces_have_main_text(tmp_path, text):
    path = tmp_path / "short.html"
    path.write_text(f"<html><body><article><p>{text}</p></article></body></html>", encoding="utf-8")
    outcome = read_and_clean(str(path))
    assert outcome.error is None, outcome.error


def test_a_few_unspaced_letters_are_still_no_main_text(tmp_path):
    path = tmp_path / "menu.html"
    path.write_text("<html><body><nav><a href='/'>ホーム</a></nav><article><p>お知らせ</p></article></body></html>",
                    encoding="utf-8")
    outcome = read_and_clean(str(path))
    assert outcome.page is None and "no main text" in outcome.error
