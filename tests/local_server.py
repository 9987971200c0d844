"""A throwaway HTTP server on 127.0.0.1 that answers fixed routes (for fetch and classify tests)."""

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = tuple[int, dict[str, str], bytes]


@contextmanager
def serve_routes(routes: dict[str, Route], default: Route, slow_path: str = "/slow", slow_seconds: float = 1.0):
    """Serve ``routes`` (path → status, headers, body); other paths get ``default``; ``slow_path`` sleeps first."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            if self.path == slow_path:
                time.sleep(slow_seconds)
            status, headers, body = routes.get(self.path, default)
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
