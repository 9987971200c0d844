"""A throwaway HTTP server on 127.0.0.1 that answers fixed routes (for fetch, classify and robustness tests).

A route is ``(status, headers, body)``, or a function that writes the whole response itself (see
:func:`raw_response` and :func:`dripping`). Every handler ends by itself: a dripping one stops after
``limit_seconds`` or when the client goes away.
"""

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Writer = Callable[[BaseHTTPRequestHandler], None]
Route = tuple[int, dict[str, str], bytes] | Writer


@contextmanager
def serve_routes(routes: dict[str, Route], default: Route, slow_path: str = "/slow", slow_seconds: float = 1.0):
    """Serve ``routes`` (path → route); other paths get ``default``; ``slow_path`` sleeps first."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            if self.path == slow_path:
                time.sleep(slow_seconds)
            route = routes.get(self.path, default)
            if callable(route):
                route(self)
                return
            status, headers, body = route
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def raw_response(data: bytes) -> Writer:
    """A route that writes ``data`` (status line, headers and body as given) and closes the connection."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(data)
        handler.close_connection = True

    return write


def dripping(head: bytes, body: bytes, *, drip_head: bool = False, interval: float = 0.1,
             limit_seconds: float = 20.0) -> Writer:
    """A route that sends ``head`` (status line and headers) then ``body`` one byte per ``interval``.

    With ``drip_head`` the head drips too. Every byte arrives well within any socket timeout, so only a
    deadline for the whole response stops a client. The writer gives up after ``limit_seconds``.
    """

    def write(handler: BaseHTTPRequestHandler) -> None:
        stop = time.monotonic() + limit_seconds
        try:
            if not drip_head:
                handler.wfile.write(head)
                handler.wfile.flush()
            for byte in (head if drip_head else b"") + body:
                if time.monotonic() > stop:
                    break
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:  # the client gave up
            pass
        handler.close_connection = True

    return write
