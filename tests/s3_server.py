"""A real S3-protocol server on loopback for the tests: moto's standalone server, behind a proxy
that logs every request and the response body bytes it carried, so tests can see from the server
side what a read actually transferred."""

from __future__ import annotations

import http.client
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.server import ThreadedMotoServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str  # /BUCKET/KEY?query
    range: str | None  # the request's Range header
    status: int
    body_bytes: int  # response body bytes sent back to the client


class CountingProxy:
    """Forwards HTTP to `upstream` and records an Exchange per request."""

    def __init__(self, upstream: tuple[str, int]):
        self.log: list[Exchange] = []
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection(*upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for k, v in response.getheaders():
                        if k.lower() not in HOP_BY_HOP:
                            self.send_header(k, v)
                    if self.command == "HEAD":  # no body; pass the object's length through
                        self.send_header("Content-Length", response.getheader("Content-Length", "0"))
                    else:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()
                with lock:
                    proxy.log.append(Exchange(self.command, self.path, self.headers.get("Range"), response.status,
                                              0 if self.command == "HEAD" else len(data)))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LoopbackS3:
    """moto on 127.0.0.1 (a free port) and a counting proxy in front of it."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns failures
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        self.proxy = CountingProxy(self._moto.get_host_and_port())

    @property
    def endpoint(self) -> str:
        return self.proxy.url

    def close(self) -> None:
        self.proxy.close()
        self._moto.stop()
