"""Tests for reading inputs: files, stdin and URLs served by a local http.server."""

from __future__ import annotations

import gzip
import io
import socket
from pathlib import Path

import pytest
from local_server import serve_routes

from pipeline.errors import InputError
from pipeline.fetch import Page, decode_bytes, looks_like_html, read_input

DATA = Path(__file__).parent / "data"
ARTICLE = (DATA / "lupus_fr.html").read_text(encoding="utf-8")
LATIN1_HTML = "<html><head><title>Santé</title></head><body><p>Les défenses immunitaires à l'épreuve.</p></body></html>"


def _routes() -> dict[str, tuple[int, dict[str, str], bytes]]:
    """path -> (status, headers, body) served by the test server."""
    meta_cp1252 = ('<html><head><meta charset="windows-1252"><title>t</title></head>'
                   "<body><p>Fièvre – « symptômes » et traitement.</p></body></html>").encode("cp1252")
    return {
        "/article.html": (200, {"Content-Type": "text/html; charset=utf-8"}, ARTICLE.encode("utf-8")),
        "/latin1.html": (200, {"Content-Type": "text/html; charset=ISO-8859-1"}, LATIN1_HTML.encode("latin-1")),
        "/meta-charset.html": (200, {"Content-Type": "text/html"}, meta_cp1252),
        "/broken-utf8.html": (200, {"Content-Type": "text/html; charset=utf-8"},
                              "<html><body><p>Caf\u00e9 ".encode() + b"\xe9t\xe9 \xff\xfe" + "fin</p></body></html>".encode()),
        "/gzip.html": (200, {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
                       gzip.compress(ARTICLE.encode("utf-8"))),
        "/bomb.html": (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, gzip.compress(b"<p>" + b"a" * 3_000_000)),
        "/big.html": (200, {"Content-Type": "text/html"}, b"<html><body>" + b"<p>word</p>" * 30_000 + b"</body></html>"),
        "/notes.txt": (200, {"Content-Type": "text/plain; charset=utf-8"}, "Plain notes about sleep hygiene.".encode()),
        "/no-type": (200, {}, ARTICLE.encode("utf-8")),
        "/empty.html": (200, {"Content-Type": "text/html"}, b""),
        "/paper.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7\n..."),
        "/fake.html": (200, {"Content-Type": "text/html"}, b"%PDF-1.7\n\x00\x01binary"),
        "/image.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n"),
        "/data.json": (200, {"Content-Type": "application/json"}, b'{"a": 1}'),
        "/missing": (404, {"Content-Type": "text/html"}, b"<p>not found</p>"),
        "/crash": (500, {"Content-Type": "text/html"}, b"<p>oops</p>"),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/hop1": (302, {"Location": "/hop2"}, b""),
        "/hop2": (301, {"Location": "/article.html"}, b""),
    }


@pytest.fixture(scope="module")
def server():
    with serve_routes(_routes(), default=(404, {}, b""), slow_seconds=1.5) as url:
        yield url


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- URLs -------------------------------------------------------------------------------------

def test_reads_html_page_with_final_url_after_redirects(server):
    page = read_input(f"{server}/hop1")
    assert isinstance(page, Page)
    assert page.input == f"{server}/hop1"
    assert page.url == f"{server}/article.html"
    assert page.text is None
    assert "Lupus : une greffe de cellules souches" in page.html


@pytest.mark.parametrize(("path", "expected"), [
    ("/latin1.html", "Les défenses immunitaires à l'épreuve."),
    ("/meta-charset.html", "Fièvre – « symptômes » et traitement."),
    ("/gzip.html", "Lupus : une greffe de cellules souches"),
    ("/no-type", "Lupus : une greffe de cellules souches"),
])
def test_charsets_and_compression(server, path, expected):
    assert expected in read_input(server + path).html


def test_broken_utf8_is_decoded_without_crashing(server):
    page = read_input(f"{server}/broken-utf8.html")
    assert "fin" in page.html


def test_plain_text_url_gives_text(server):
    page = read_input(f"{server}/notes.txt")
    assert page.html is None
    assert page.text == "Plain notes about sleep hygiene."


@pytest.mark.parametrize(("path", "message"), [
    ("/missing", "HTTP 404"),
    ("/crash", "HTTP 500"),
    ("/paper.pdf", "unsupported content type application/pdf"),
    ("/image.png", "unsupported content type image/png"),
    ("/data.json", "unsupported content type application/json"),
    ("/fake.html", "PDF document"),
    ("/empty.html", "page is empty"),
    ("/loop", "redirect loop"),
])
def test_bad_urls_raise_input_error(server, path, message):
    with pytest.raises(InputError, match=message):
        read_input(server + path)


def test_oversized_page_is_refused(server):
    with pytest.raises(InputError, match="too large"):
        read_input(f"{server}/big.html", max_bytes=100_000)


def test_gzip_bomb_is_capped(server):
    with pytest.raises(InputError, match="decompresses to more than"):
        read_input(f"{server}/bomb.html", max_bytes=1_000_000)


def test_timeout(server):
    with pytest.raises(InputError, match="timed out"):
        read_input(f"{server}/slow", timeout=0.3)


def test_unreachable_url_on_closed_port(closed_port):
    with pytest.raises(InputError, match="connection refused"):
        read_input(f"http://127.0.0.1:{closed_port}/page.html", timeout=2)


@pytest.mark.parametrize(("url", "message"), [
    ("http://", "invalid URL"),
    ("https:///no-host", "invalid URL"),
    ("http://127.0.0.1:notaport/", "invalid"),
    ("ftp://example.org/file.html", "unsupported URL scheme 'ftp'"),
    ("http://[::1", "invalid URL: Invalid IPv6 URL"),
    ("http://exa mple.org/", "invalid URL"),
])
def test_invalid_urls(url, message):
    with pytest.raises(InputError, match=message):
        read_input(url, timeout=2)


# --- files and stdin --------------------------------------------------------------------------

def test_html_file(tmp_path):
    page = read_input(str(DATA / "lupus_fr.html"))
    assert page.url is None and page.text is None
    assert page.html.startswith("<!DOCTYPE html>")


def test_content_decides_html_or_text_not_the_extension(tmp_path):
    html_in_txt = tmp_path / "page.txt"
    html_in_txt.write_text(ARTICLE, encoding="utf-8")
    text_in_html = tmp_path / "notes.html"
    text_in_html.write_text("Sleep helps the body repair tissue. Adults need 7 < 9 hours.", encoding="utf-8")
    assert read_input(str(html_in_txt)).html is not None
    assert read_input(str(text_in_html)).text.startswith("Sleep helps")


def test_text_file_in_latin1_is_detected(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("Les défenses immunitaires sont à l'épreuve pendant l'hiver, précise le médecin.".encode("latin-1"))
    assert read_input(str(path)).text == "Les défenses immunitaires sont à l'épreuve pendant l'hiver, précise le médecin."


def test_stdin_bytes_and_text():
    page = read_input("-", stdin=io.BytesIO(ARTICLE.encode("utf-8")))
    assert page.input == "-" and page.html is not None
    assert read_input("-", stdin=io.StringIO("Plain words from a pipe.")).text == "Plain words from a pipe."


@pytest.mark.parametrize(("content", "message"), [
    (b"", "file is empty"),
    (b" \n\t\n", "file is empty"),
    (b"\x00\x01\x02\x03binary\x00data" * 10, "looks binary"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
    (b"%PDF-1.4 fake", "PDF document"),
])
def test_bad_files_raise_input_error(tmp_path, content, message):
    path = tmp_path / "input.html"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_input(str(path))


def test_missing_file_directory_and_huge_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_input(str(tmp_path / "missing.html"))
    with pytest.raises(InputError, match="is a directory"):
        read_input(str(tmp_path))
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"word " * 1000)
    with pytest.raises(InputError, match="too large"):
        read_input(str(huge), max_bytes=1000)


def test_oversized_stdin_is_refused():
    with pytest.raises(InputError, match="larger than the limit"):
        read_input("-", stdin=io.BytesIO(b"a" * 2000), max_bytes=1000)


def test_error_messages_are_one_line(tmp_path):
    for source in [str(tmp_path / "missing.html"), str(tmp_path), "ftp://x/y"]:
        with pytest.raises(InputError) as info:
            read_input(source)
        assert "\n" not in str(info.value) and str(info.value)


# --- helpers ------------------------------------------------------------------------------------

def test_decode_bytes_prefers_bom_and_declared_charset():
    assert decode_bytes("\ufeffé".encode("utf-8")) == "é"
    assert decode_bytes("é".encode("utf-16")) == "é"
    assert decode_bytes("été".encode("cp1252"), "iso-8859-1") == "été"
    assert decode_bytes("été".encode("utf-8"), "no-such-charset") == "été"


def test_looks_like_html():
    assert looks_like_html("<!doctype html><p>x")
    assert looks_like_html("<div><p>one</p><p>two</p></div>")
    assert not looks_like_html("Use <b> sparingly; a < b and c > d.")
