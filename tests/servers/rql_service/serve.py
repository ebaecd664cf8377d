"""Run the service: ``python -m tests.servers.rql_service.serve --db PATH [--seed N] [--port P]``.

Configures Django in-process (no settings module on disk), creates the tables
in a SQLite file, seeds it when it is empty, binds 127.0.0.1 (port 0 = any
free port), prints ``READY <port>`` on stdout and serves until killed.
Accepted credentials: ``Authorization: ApiKey SU-000-000-000:s3cret`` (or the
value of ``--key``, repeatable) or the same value in ``X-Auth-Token``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from socketserver import ThreadingMixIn
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


def serve(port: int) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    configure(args.db, args.key or [DEFAULT_KEY])
    prepare(args.seed)
    serve(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
