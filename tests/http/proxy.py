"""A fault-injecting loopback TCP proxy the tests own.

It sits between settee and a real server on 127.0.0.1 and forwards bytes both
ways, one thread per direction per connection. Faults are armed from the test
(thread-safe) and apply to the server-to-client direction:

* ``cut_after_bytes = n``: close every connection after ``n`` response bytes
  (``None`` turns it off); ``cut_next_after(n)``: only the next connection.
* ``cut_in_body(n)``: the next connection is closed ``n`` bytes after its
  response headers, which lands in the middle of an HTTP chunk.
* ``stall(t)``: hold all response bytes for ``t`` seconds.
* ``refuse_for(t)``: close the listening socket for ``t`` seconds (a
  server restart: connections are refused), then listen again on the port.
* ``inject_status(status, count)``: the next ``count`` new connections get
  this HTTP error instead of reaching the server (``Retry-After: 0``).
* ``cut_request(marker, after)``: the next request whose bytes hold ``marker``
  (``b"POST /db/_bulk_docs"``) reaches the server, and its connection is
  closed ``after`` bytes into the response (a write that applied, unanswered).
* ``drop_all()``: close every open connection now; ``open_connections``
  counts them. A connection the client closes is closed at once on both
  sides (no HTTP client half-closes).
* ``expire_sessions()``: every ``AuthSession`` cookie counts as expired until
  the client logs in again (``POST /_session``): a request carrying one is
  answered ``401`` by the proxy (what CouchDB does for an expired cookie on a
  database that needs a login; PouchDB Server lets such a request through as
  anonymous, so the proxy plays that part). Cookies from the new login pass,
  even when the server re-issues a value that was marked expired.

Bounded: threads are daemons, sockets time out, and the proxy stops itself
after ``max_lifetime`` seconds. Counters: ``connections``, ``bytes_down``,
``cuts``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from types import TracebackType

_BLOCK = 16384
_COOKIE_RE = re.compile(rb"AuthSession=([^;\s]+)")
_SET_COOKIE_RE = re.compile(rb"(?im)^Set-Cookie:\s*AuthSession=([^;\s]+)")


class FaultProxy:
    """``FaultProxy(target_port)``; ``with proxy:`` starts and stops it; ``proxy.url``."""

    def __init__(
        self, target_port: int, *, target_host: str = "127.0.0.1", max_lifetime: float = 600.0
    ) -> None:
        self.target = (target_host, target_port)
        self.max_lifetime = max_lifetime
        self.cut_after_bytes: int | None = None
        self._lock = threading.Lock()
        self._cut_next: int | None = None
        self._cut_body_next: int | None = None
        self._cut_request: tuple[bytes, int] | None = None
        self._stall_until = 0.0
        self._inject: list[tuple[int, int]] = []  # [(status, remaining)]
        self._cookies_seen: set[bytes] = set()
        self._cookies_expired: set[bytes] = set()
        self._expire_until_login = False
        self.expired_answers = 0
        self._refuse_until = 0.0
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.port = 0
        self.connections = 0
        self.bytes_down = 0
        self.cuts = 0
        self._threads: list[threading.Thread] = []
        self._timer: threading.Timer | None = None

    @classmethod
    def to(cls, url: str, *, max_lifetime: float = 600.0) -> FaultProxy:
        """A proxy (not started) in front of the server at ``url`` (``http://127.0.0.1:PORT``)."""
        host_port = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
        host, _, port = host_port.rpartition(":")
        return cls(int(port), target_host=host or "127.0.0.1", max_lifetime=max_lifetime)

    # -- lifecycle -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._listen()
        thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        thread.start()
        self._threads.append(thread)
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        sock.settimeout(0.1)
        self.port = sock.getsockname()[1]
        self._listener = sock

    def stop(self) -> None:
        self._stopped.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        self.drop_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------
    def cut_next_after(self, nbytes: int) -> None:
        with self._lock:
            self._cut_next = nbytes

    def cut_in_body(self, nbytes: int) -> None:
        with self._lock:
            self._cut_body_next = nbytes

    def cut_request(self, marker: bytes, after: int = 0) -> None:
        with self._lock:
            self._cut_request = (marker, after)

    def stall(self, seconds: float) -> None:
        with self._lock:
            self._stall_until = time.monotonic() + seconds

    def refuse_for(self, seconds: float) -> None:
        with self._lock:
            self._refuse_until = time.monotonic() + seconds
        self.drop_all()

    def inject_status(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._inject.append((status, count))

    def expire_sessions(self) -> None:
        with self._lock:
            self._cookies_expired |= self._cookies_seen
            # A cookie the server renewed in a Set-Cookie since is just as old:
            # every cookie counts as expired until the client logs in again.
            self._expire_until_login = True

    @property
    def open_connections(self) -> int:
        """Client connections the proxy is forwarding right now."""
        with self._lock:
            return len(self._open) // 2  # each is a (client, upstream) pair

    def drop_all(self) -> None:
        with self._lock:
            socks = list(self._open)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    # -- internals -------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            refusing = time.monotonic() < self._refuse_until
            if refusing:
                if self._listener is not None:
                    with contextlib.suppress(OSError):
                        self._listener.close()
                    self._listener = None
                time.sleep(0.02)
                continue
            if self._listener is None:
                try:
                    self._listen()
                except OSError:
                    time.sleep(0.05)
                    continue
            listener = self._listener
            assert listener is not None
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopped.is_set():
                    return
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()

    def _take_injection(self) -> int | None:
        with self._lock:
            while self._inject:
                status, remaining = self._inject[0]
                if remaining <= 0:
                    self._inject.pop(0)
                    continue
                self._inject[0] = (status, remaining - 1)
                return status
        return None

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(self.max_lifetime)
        status = self._take_injection()
        if status is not None:
            self._answer(client, status)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(self.max_lifetime)
        with self._lock:
            self._open.update((client, upstream))
            cut = self._cut_next if self._cut_next is not None else self.cut_after_bytes
            self._cut_next = None
            cut_body = self._cut_body_next
            self._cut_body_next = None
        # Shared by the two pumps: the response byte at which a marked request's
        # connection is cut (set by the upward pump before the request goes on).
        state: dict[str, int | None] = {"sent": 0, "cut_at": None}
        up = threading.Thread(target=self._pump_up, args=(client, upstream, state), daemon=True)
        up.start()
        try:
            self._pump_down(upstream, client, cut, cut_body, state)
        finally:
            self._close_pair(client, upstream)
            up.join(timeout=5)

    def _answer(
        self, client: socket.socket, status: int, *, request: bytes = b"", error: str = "injected"
    ) -> None:
        # Read the request head so the client sees an answer, not a reset.
        client.settimeout(5)
        data = request
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in data and len(data) < 65536:
                block = client.recv(_BLOCK)
                if not block:
                    break
                data += block
        body = json.dumps({"error": error, "reason": f"fault proxy answered {status}"})
        head = (
            f"HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 0\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            client.sendall(head.encode() + body.encode())
        self._close_pair(client, None)

    def _pump_up(
        self, client: socket.socket, upstream: socket.socket, state: dict[str, int | None]
    ) -> None:
        with contextlib.suppress(OSError):
            while not self._stopped.is_set():
                data = client.recv(_BLOCK)
                if not data:
                    break
                self._saw_login(data)
                if b"AuthSession=" in data and self._session_expired(data):
                    self.expired_answers += 1
                    self._answer(client, 401, request=data, error="unauthorized")
                    upstream.close()
                    return
                with self._lock:
                    marked = self._cut_request
                    if marked is not None and marked[0] in data:
                        self._cut_request = None
                        state["cut_at"] = (state["sent"] or 0) + marked[1]
                upstream.sendall(data)
        # No HTTP client half-closes: the end of the client's side means the
        # client closed the connection. Close the pair now, not when a later
        # response write fails (a continuous feed's next heartbeat or two, since
        # CouchDB keeps writing to a half-closed socket), so open_connections
        # counts what the client holds open.
        self._close_pair(client, upstream)

    def _pump_down(
        self,
        upstream: socket.socket,
        client: socket.socket,
        cut: int | None,
        cut_body: int | None,
        state: dict[str, int | None],
    ) -> None:
        sent = 0
        body_start: int | None = None
        head = b""
        with contextlib.suppress(OSError):
            while not self._stopped.is_set():
                data = upstream.recv(_BLOCK)
                if not data:
                    break
                self._saw_issued_cookie(data)
                while time.monotonic() < self._stall_until and not self._stopped.is_set():
                    time.sleep(0.01)
                limit: int | None = None
                if cut is not None:
                    limit = cut - sent
                if cut_body is not None:
                    if body_start is None:
                        head += data
                        end = head.find(b"\r\n\r\n")
                        if end >= 0:
                            body_start = end + 4  # offset in this connection's stream
                    if body_start is not None:
                        body_limit = body_start + cut_body - sent
                        limit = body_limit if limit is None else min(limit, body_limit)
                cut_at = state["cut_at"]
                if cut_at is not None:
                    limit = cut_at - sent if limit is None else min(limit, cut_at - sent)
                if limit is not None and limit < len(data):
                    if limit > 0:
                        client.sendall(data[:limit])
                        self.bytes_down += limit
                    self.cuts += 1
                    return
                client.sendall(data)
                sent += len(data)
                state["sent"] = sent
                self.bytes_down += len(data)

    def _session_expired(self, request: bytes) -> bool:
        values = set(_COOKIE_RE.findall(request))
        with self._lock:
            self._cookies_seen |= values
            if self._expire_until_login and values:
                return True
            return bool(values & self._cookies_expired)

    def _saw_issued_cookie(self, response: bytes) -> None:
        # A cookie the server issues now is valid: PouchDB Server's cookies carry a
        # timestamp in seconds, so a login within the same second as the expiry
        # hands back the very value that was marked expired.
        issued = set(_SET_COOKIE_RE.findall(response))
        if issued:
            with self._lock:
                self._cookies_expired -= issued

    def _saw_login(self, request: bytes) -> None:
        if request.startswith(b"POST /_session"):
            with self._lock:
                self._expire_until_login = False

    def _close_pair(self, client: socket.socket, upstream: socket.socket | None) -> None:
        for sock in (client, upstream):
            if sock is None:
                continue
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
