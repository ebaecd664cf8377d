"""Run the service: ``python -m tests.servers.rql_service.serve --db PATH [--seed N] [--port P]
[--request-log FILE]``.

Configures Django in-process (no settings module on disk), creates the tables
in a SQLite file, seeds it when it is empty, binds 127.0.0.1 (port 0 = any
free port), prints ``READY <port>`` on stdout and serves until killed.
Accepted credentials: ``Authorization: ApiKey SU-000-000-000:s3cret`` (or the
value of ``--key``, repeatable) or the same value in ``X-Auth-Token``.

With ``--request-log FILE``, every request that reaches the server appends
its method and raw target (``GET /public/v1/products?limit=0&offset=0``) to
``FILE``, one line each, before Django handles it: tests read what arrived
on the server's side (0 lines for a call the client refused locally).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from socketserver import ThreadingMixIn
from typing import IO
from wsgiref.simple_server import WSGIServer

DEFAULT_KEY = "ApiKey SU-000-000-000:s3cret"


def configure(db_path: str, keys: list[str]) -> None:
    """Configure Django settings and load the app."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="rql-service-tests-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="tests.servers.rql_service.urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "tests.servers.rql_service.apps.CatalogConfig",
        ],
        MIDDLEWARE=[
            "django.middleware.common.CommonMiddleware",
            "tests.servers.rql_service.views.ApiKeyMiddleware",
        ],
        APPEND_SLASH=False,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": db_path,
                "OPTIONS": {"timeout": 30},
            }
        },
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        REST_FRAMEWORK={
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
            "EXCEPTION_HANDLER": "tests.servers.rql_service.views.exception_handler",
            "COERCE_DECIMAL_TO_STRING": False,
            "UNICODE_JSON": True,
        },
        RQL_SERVICE_KEYS=keys,
        LOGGING_CONFIG=None,
    )
    django.setup()


def prepare(products: int) -> int:
    """Create the tables and seed an empty database; return the product count."""
    from django.core.management import call_command

    from .models import Product
    from .seed import seed

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    if not Product.objects.exists():
        seed(products)
    return Product.objects.count()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class RequestLog:
    """Appends ``METHOD target`` per request to a file, flushed at once (thread-safe)."""

    def __init__(self, path: str) -> None:
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the server
        self._lock = threading.Lock()

    def write(self, method: str, target: str) -> None:
        # The raw request target: wsgiref's PATH_INFO has %2F decoded already.
        with self._lock:
            self._file.write(f"{method} {target}\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def serve(port: int, request_log: RequestLog | None = None) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def get_environ(self) -> dict[str, str]:
            # Before the app runs, so the line is on disk before the answer is sent.
            if request_log is not None:
                request_log.write(self.command, self.path)
            environ: dict[str, str] = super().get_environ()
            return environ

    server = _Server(("127.0.0.1", port), Quiet)
    server.set_app(WSGIHandler())
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    parser.add_argument("--seed", type=int, default=360, help="products to seed into an empty DB")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", action="append", help="accepted Authorization value")
    parser.add_argument(
        "--request-log", metavar="FILE", help="append 'METHOD target' per request to FILE"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    configure(args.db, args.key or [DEFAULT_KEY])
    prepare(args.seed)
    request_log = RequestLog(args.request_log) if args.request_log else None
    try:
        serve(args.port, request_log)
    finally:
        if request_log is not None:
            request_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
