"""The review page server: standard-library HTTP in a background thread, on a loopback address.

Endpoints:

- ``GET /?token=T``: the page. The token is printed by ``shochu review`` and
  changes every start, so other users of the machine cannot open the page;
- ``GET /api/state``: the sample, the latest decisions and the acceptance summary;
- ``POST /api/decisions``: one decision as JSON, appended to ``review/decisions.jsonl``.

Every request must name this server in its ``Host`` header (127.0.0.1, localhost
or [::1] with the server's port, or the address given to ``--host``), which stops
DNS-rebinding pages. API requests must carry the session token in the
``X-Review-Token`` header, and POSTs must send ``application/json``. A page on
another origin can do neither without a CORS preflight, and this server never
grants one.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import socket
import socketserver
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shochu.config import ReviewConfig
from shochu.review.decisions import DECISIONS_FILE, append_decisions, read_decisions, validate_decision
from shochu.review.gate import evaluate_gate
from shochu.review.page import render_page
from shochu.review.sample import review_dir

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_HEADER = "X-Review-Token"
MAX_BODY_BYTES = 1 << 20


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class ReviewServer:
    """The review page for one sample; ``start`` serves it in a daemon thread, ``stop`` shuts it down."""

    def __init__(self, workspace_root: Path, sample: list[dict[str, Any]], review: ReviewConfig,
                 host: str | None = None, port: int | None = None) -> None:
        self.review = review
        self.host = host or review.host
        self.sample = sample
        self.cards = {card["id"]: card for card in sample}
        self.decisions_path = review_dir(workspace_root) / DECISIONS_FILE
        self.decisions = read_decisions(self.decisions_path)
        self.token = secrets.token_urlsafe(32)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

        server_class = _IPv6Server if ":" in self.host else _Server
        requested_port = review.port if port is None else port
        try:
            self.httpd = server_class((self.host, requested_port), _handler_for(self))
        except OSError as error:
            raise OSError(f"cannot listen on {self.host}:{requested_port} ({error.strerror}); "
                          f"pass another --port, or --port 0 for any free port") from error
        self.port = self.httpd.server_address[1]
        names = {*(f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]")),
                 f"{_url_host(self.host)}:{self.port}"}
        self.allowed_hosts = frozenset(name.lower() for name in names)
        self.allowed_origins = frozenset(f"http://{name}" for name in self.allowed_hosts)

    @property
    def url(self) -> str:
        """Address of the page, with the session token; print it for the reviewer, never log it."""
        return f"http://{_url_host(self.host)}:{self.port}/?token={self.token}"

    def start(self) -> ReviewServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="shochu-review", daemon=True)
        self._thread.start()
        logger.info("review page listening on %s:%d", self.host, self.port)
        return self

    def wait(self) -> None:
        """Block until the server stops; Ctrl+C raises ``KeyboardInterrupt`` here."""
        while self._thread is not None and self._thread.is_alive():
            # A join with a timeout lets the main thread receive SIGINT.
            self._thread.join(0.5)

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()
        logger.info("review page stopped")

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def summary(self) -> dict[str, Any]:
        return evaluate_gate(self.sample, self.decisions, self.review).as_dict()

    def state(self) -> dict[str, Any]:
        with self._lock:
            # Re-read, so that decisions imported by another `shochu review` process show up.
            self.decisions = read_decisions(self.decisions_path)
            return {"cards": self.sample, "decisions": dict(self.decisions), "summary": self.summary()}

    def record(self, data: Any) -> tuple[dict[str, Any] | None, list[str], dict[str, Any]]:
        """Validate and store one decision; return the stored record, the problems and the summary."""
        with self._lock:
            record, problems = validate_decision(data, self.cards)
            if record is not None:
                append_decisions(self.decisions_path, [record])
                self.decisions[record["id"]] = record
                logger.info("review: %s %s", record["decision"], record["id"])
            return record, problems, self.summary()

    def token_matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(candidate.encode(), self.token.encode())


class _Server(ThreadingHTTPServer):
    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can send a DNS query; nothing here uses it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


def _handler_for(server: ReviewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ReviewHandler):
        review = server

    return Handler


class _ReviewHandler(BaseHTTPRequestHandler):
    review: ReviewServer
    server_version = "shochu-review"
    sys_version = ""
    # Seconds a connection may stall before its thread gives up on it.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes the request line, token included, to stderr.
        pass

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("review page: " + format, *args)

    # --- routing ----------------------------------------------------------

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        parts = urlsplit(self.path)
        if parts.path == "/":
            token = parse_qs(parts.query).get("token", [None])[0]
            if not self.review.token_matches(token):
                self._send_text(HTTPStatus.FORBIDDEN, "Open the address that `shochu review` printed; "
                                "it carries this session's token.")
                return
            self._send_page()
        elif parts.path == "/api/state":
            if self._token_ok():
                self._send_json(HTTPStatus.OK, self.review.state())
        elif parts.path == "/favicon.ico":
            self._send_empty(HTTPStatus.NO_CONTENT)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {parts.path}"})

    def do_POST(self) -> None:
        if not self._host_allowed():
            return
        if urlsplit(self.path).path != "/api/decisions":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "POST only to /api/decisions"})
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() not in self.review.allowed_origins:
            logger.warning("review page: rejected a POST from origin %r", origin[:100])
            self._send_json(HTTPStatus.FORBIDDEN, {"error": f"requests from origin {origin} are not allowed"})
            return
        if not self._token_ok():
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self._send_json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                            {"error": "send the decision as application/json"})
            return
        data = self._read_json()
        if data is None:
            return

        record, problems, summary = self.review.record(data)
        if record is None:
            # The problems name fields and ids, never the reason or response text.
            logger.info("review page: invalid decision: %s", "; ".join(problems))
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "; ".join(problems), "problems": problems})
            return
        self._send_json(HTTPStatus.OK, {"saved": record, "summary": summary})

    def do_PUT(self) -> None:
        self._send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use GET or POST"})

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    # --- checks -----------------------------------------------------------

    def _host_allowed(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        if host in self.review.allowed_hosts:
            return True
        logger.warning("review page: rejected a request with Host header %r", host[:100])
        self._send_json(HTTPStatus.FORBIDDEN, {"error": "the Host header does not name this review server"})
        return False

    def _token_ok(self) -> bool:
        if self.review.token_matches(self.headers.get(TOKEN_HEADER)):
            return True
        logger.warning("review page: rejected %s %s without a valid %s header", self.command,
                       urlsplit(self.path).path, TOKEN_HEADER)
        self._send_json(HTTPStatus.FORBIDDEN, {"error": f"missing or wrong {TOKEN_HEADER} header; reload the "
                                               f"page from the address that `shochu review` printed"})
        return False

    def _read_json(self) -> Any | None:
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._send_json(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is required"})
            return None
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self._send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            {"error": f"body of {length} bytes; at most {MAX_BODY_BYTES} are accepted"})
            return None
        try:
            return json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": f"invalid JSON body: {error}"})
            return None

    # --- responses --------------------------------------------------------

    def _send_page(self) -> None:
        nonce = secrets.token_urlsafe(16)
        body = render_page(self.review.token, nonce).encode("utf-8")
        policy = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                  "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'none'")
        self._send(HTTPStatus.OK, body, "text/html; charset=utf-8", {"Content-Security-Policy": policy})

    def _send_json(self, status: HTTPStatus, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _send_text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _send_empty(self, status: HTTPStatus) -> None:
        self._send(status, b"", None)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str | None,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)
