"""``settee replicate SOURCE_URL/DB TARGET_URL/DB``: replicate one database into another.

    settee replicate sqlite:///local.db/notes http://admin:pw@127.0.0.1:5984/notes --create-target
    settee replicate http://host:5984/notes sqlite:///local.db/notes --continuous
    settee replicate memory:/a sqlite:///b.db/a --selector '{"type": "note"}'

Each end is a server URL (``http(s)://``, ``sqlite:///file``, ``memory:``)
and a database name after its last ``/``; credentials go in the URL's
userinfo. On a terminal stderr shows a progress bar (changes read of the
total where the source's feed tells what is pending, documents written);
redirected, it gets no frames. At the end one summary line goes to stderr
(``replicated N changes from SOURCE to TARGET: W documents written, F
failed``, URLs without credentials) and the counts to stdout as one JSON
line. Exit code 0 when every missing revision was written, 6 when the target
refused some or all of them (each listed on stderr), and the ``settee``
command's others (1 error, 2 usage, 4 not found...). ``--continuous``
follows the source until Ctrl-C, then checkpoints and stops.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import settee
from settee.cli.progress import CountBar
from settee.replication import ReplicationResult
from settee.urls import redact_url

__all__ = ["EXIT_WRITE_FAILURES", "add_replicate_command", "split_db_url"]

#: Exit code when the target refused documents.
EXIT_WRITE_FAILURES = 6


def split_db_url(value: str) -> tuple[str, str]:
    """``("http://host:5984", "db")`` from ``http://host:5984/db``; ``ValueError`` without a db."""
    server, sep, db = value.rstrip("/").rpartition("/")
    if not sep or not db or server.endswith(("//", ":/")) or server == "":
        raise ValueError(f"{redact_url(value)!r} names no database: use URL/DB")
    return server, db


def _open(value: str, *, create: bool) -> settee.Database:
    server, name = split_db_url(value)
    client = settee.connect(server)
    if create:
        return client.create_database(name, throw_on_exists=False)
    return client[name]


def _counts(result: ReplicationResult) -> dict[str, Any]:
    return {
        "changes_read": result.changes_read,
        "changes_pending": result.changes_pending,
        "docs_read": result.docs_read,
        "docs_written": result.docs_written,
        "doc_write_failures": result.doc_write_failures,
        "missing_checked": result.missing_checked,
        "missing_found": result.missing_found,
        "start_last_seq": result.start_last_seq,
        "end_last_seq": result.end_last_seq,
        "recorded_seq": result.recorded_seq,
    }


def cmd_replicate(args: argparse.Namespace) -> int:
    selector = None
    if args.selector is not None:
        try:
            selector = json.loads(args.selector)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--selector is not JSON: {exc}") from exc
        if not isinstance(selector, dict):
            raise ValueError("--selector must be a JSON object (a Mango selector)")
    source = _open(args.source, create=False)
    target = _open(args.target, create=args.create_target)
    with CountBar(desc="replicate", unit="change", quiet=args.quiet) as bar:

        def show(result: ReplicationResult) -> None:
            pending = result.changes_pending
            total = None if pending is None else result.changes_read + pending
            note = f"{result.docs_written} written"
            if result.doc_write_failures:
                note += f", {result.doc_write_failures} refused"
            bar.show(result.changes_read, total, note)

        options: dict[str, Any] = {"selector": selector, "progress": show}
        if args.batch_size is not None:
            options["batch_size"] = args.batch_size
        if args.continuous:
            live = settee.replicate(source, target, continuous=True, **options)
            try:
                while True:
                    try:
                        live.wait(timeout=0.5)  # raises a terminal error
                        break
                    except TimeoutError:
                        continue
            except KeyboardInterrupt:
                pass
            result = live.stop()
        else:
            result = settee.replicate(source, target, **options)
    for failure in result.failures:
        print(
            f"settee: refused: {failure['id']} {failure['rev']}: {failure['error']}"
            f" ({failure['reason']})",
            file=sys.stderr,
        )
    if result.error:
        print(f"settee: stopped: {result.error}", file=sys.stderr)
    print(
        f"replicated {result.changes_read} changes from {redact_url(args.source)}"
        f" to {redact_url(args.target)}: {result.docs_written} documents written,"
        f" {result.doc_write_failures} failed",
        file=sys.stderr,
    )
    print(json.dumps(_counts(result), sort_keys=True))
    return 0 if result.ok else EXIT_WRITE_FAILURES


def add_replicate_command(sub: Any) -> None:
    """Add ``replicate`` to the ``settee`` command's subparsers ``sub``."""
    p = sub.add_parser("replicate", help="replicate SOURCE_URL/DB into TARGET_URL/DB")
    p.add_argument("source", help="the source: server URL and database, URL/DB")
    p.add_argument("target", help="the target: server URL and database, URL/DB")
    p.add_argument("--continuous", action="store_true", help="keep following until Ctrl-C")
    p.add_argument("--create-target", action="store_true", help="create the target database")
    p.add_argument("--selector", help="replicate only documents matching this Mango selector")
    p.add_argument("--batch-size", type=int, help="changes per batch")
    p.set_defaults(func=cmd_replicate)
