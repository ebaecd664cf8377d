"""The ``settee`` command: a database shell for scripts, and the demo.

    settee [--url URL] [--user U --password P | --api-key K] COMMAND ...

``--url`` defaults to ``$SETTEE_URL``, else an embedded SQLite file in the
user's data directory. Exit codes: 0 success, 1 a server or database error,
2 bad usage or input, 4 not found, 5 conflict, 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import settee
from settee import __version__, errors
from settee.cli.demo import run_demo
from settee.cli.progress import chunked, progress
from settee.cli.replicate import add_replicate_command
from settee.feeds.base import JSON_LOADS
from settee.feeds.normal import IJSON_BACKEND
from settee.results import raise_for_result

__all__ = ["default_url", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_INTERRUPTED = 130


def data_dir() -> Path:
    """Where the embedded default store lives (per-user, per-platform)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "settee"


def default_url() -> str:
    """``$SETTEE_URL``, else ``sqlite:///<data dir>/settee.db``."""
    env = os.environ.get("SETTEE_URL")
    if env:
        return env
    return "sqlite:///" + str(data_dir() / "settee.db")


# -- connecting ---------------------------------------------------------------


def _connect(args: argparse.Namespace) -> Any:
    auth: Any = None
    if args.api_key:
        auth = settee.IAMAuth(args.api_key) if args.iam else settee.ApiKeyAuth(args.api_key)
    elif args.user is not None:
        password = args.password
        if password is None:
            password = os.environ.get("SETTEE_PASSWORD")
        if password is None:
            password = getpass.getpass(f"password for {args.user}: ")
        auth = settee.BasicAuth(args.user, password)
    url: str = args.url
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return settee.connect(url, auth=auth)


def _out(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _read_json(stream: IO[str], what: str) -> Any:
    text = stream.read()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from exc


# -- commands -----------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        info = {
            "settee": __version__,
            "python": platform.python_version(),
            "url": client.url,
            "backend": client.backend.kind,
            "capabilities": sorted(client.backend.capabilities),
            "ijson_backend": IJSON_BACKEND,
            "json_loads": JSON_LOADS,
            "server": client.metadata(),
        }
    _out(info)
    return EXIT_OK


def cmd_dbs(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        for name in client.all_dbs():
            print(name)
    return EXIT_OK


def cmd_create_db(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        client.create_database(args.db, partitioned=args.partitioned, throw_on_exists=True)
    print(f"created {args.db}", file=sys.stderr)
    return EXIT_OK


def cmd_delete_db(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        client.delete_database(args.db)
    print(f"deleted {args.db}", file=sys.stderr)
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        _out(dict(client[args.db][args.id]))
    return EXIT_OK


def cmd_put(args: argparse.Namespace) -> int:
    doc = _read_json(sys.stdin, "the document on standard input")
    if not isinstance(doc, dict):
        raise ValueError("the document on standard input must be a JSON object")
    if args.id is not None:
        doc["_id"] = args.id
    client = _connect(args)
    with client:
        db = client[args.db]
        result = db.bulk_docs([doc])[0]
        raise_for_result(result)
        _out(result)
    return EXIT_OK


def cmd_find(args: argparse.Namespace) -> int:
    client = _connect(args)
    query = args.query.strip()
    with client:
        db = client[args.db]
        if query.startswith("{"):
            selector = json.loads(query)
            results: Iterable[Any] = db.get_query_result(selector, limit=args.limit)
        else:
            matches = db.filter(query)
            results = matches if args.limit is None else matches.limit(args.limit)
        for doc in results:
            _out(dict(doc))
    return EXIT_OK


def cmd_changes(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        db = client[args.db]
        options: dict[str, Any] = {"include_docs": args.include_docs}
        if args.since is not None:
            options["since"] = args.since
        if args.follow:
            feed: Any = db.infinite_changes(heartbeat=5000, **options)
        else:
            feed = db.changes(**options)
        try:
            for change in feed:
                print(json.dumps(change, ensure_ascii=False), flush=True)
        finally:
            feed.stop()
    return EXIT_OK


def _jsonl(stream: IO[str], name: str, *, keep_revs: bool) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{name} line {number} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ValueError(f"{name} line {number} is not a JSON object")
        if not keep_revs:
            doc.pop("_rev", None)
        yield doc


def cmd_load(args: argparse.Namespace) -> int:
    path = Path(args.file)
    with path.open(encoding="utf-8") as counting:
        total = sum(1 for line in counting if line.strip())
    client = _connect(args)
    failed = written = 0
    with client, path.open(encoding="utf-8") as stream:
        db = client[args.db]
        docs = progress(
            _jsonl(stream, str(path), keep_revs=args.update),
            total=total,
            desc="load",
            quiet=args.quiet,
        )
        for chunk in chunked(docs, args.batch):
            for result in db.bulk_docs(chunk):
                if "error" in result:
                    failed += 1
                    reason = result.get("reason")
                    print(f"{result.get('id')}: {result['error']} {reason}", file=sys.stderr)
                else:
                    written += 1
    print(f"loaded {written} documents into {args.db}, {failed} failed", file=sys.stderr)
    return EXIT_CONFLICT if failed else EXIT_OK


def cmd_dump(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        db = client[args.db]
        total = db.doc_count()
        rows = db.all_docs(include_docs=True)
        for row in progress(rows, total=total, desc="dump", quiet=args.quiet):
            doc = row.get("doc")
            if doc is None or str(row.get("id", "")).startswith("_design/"):
                continue
            sys.stdout.write(json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        run_demo(client, docs=args.docs, quiet=args.quiet, keep=args.keep)
    return EXIT_OK


# -- parsing ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="settee",
        description="settee: CouchDB-style databases from the shell.",
        epilog="exit codes: 0 ok, 1 error, 2 usage/input, 4 not found, 5 conflict",
    )
    parser.add_argument(
        "--url",
        default=default_url(),
        help="http(s)://host:port, memory:, or sqlite:///file.db "
        "(default: $SETTEE_URL, else an embedded SQLite file in your data directory)",
    )
    parser.add_argument("--user", help="user name (basic auth)")
    parser.add_argument("--password", help="password (default: $SETTEE_PASSWORD, else a prompt)")
    parser.add_argument("--api-key", help="an API key header value (Connect-style) or IAM key")
    parser.add_argument("--iam", action="store_true", help="--api-key is an IBM Cloud IAM key")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--info", action="store_true", help="same as the info command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="the tour: dict-like use, bulk load, RQL, Mango, paging, feed")
    p.add_argument("--docs", type=int, default=5000, help="documents to generate (default 5000)")
    p.add_argument("--keep", action="store_true", help="keep the demo database afterwards")
    p.set_defaults(func=cmd_demo)
    sub.add_parser("info", help="settee, backend and server facts").set_defaults(func=cmd_info)
    sub.add_parser("dbs", help="list databases").set_defaults(func=cmd_dbs)
    p = sub.add_parser("create-db", help="create a database")
    p.add_argument("db")
    p.add_argument("--partitioned", action="store_true")
    p.set_defaults(func=cmd_create_db)
    p = sub.add_parser("delete-db", help="delete a database")
    p.add_argument("db")
    p.set_defaults(func=cmd_delete_db)
    p = sub.add_parser("get", help="print one document")
    p.add_argument("db")
    p.add_argument("id")
    p.set_defaults(func=cmd_get)
    p = sub.add_parser("put", help="write the JSON document on stdin (with _rev to update)")
    p.add_argument("db")
    p.add_argument("id", nargs="?")
    p.set_defaults(func=cmd_put)
    p = sub.add_parser("find", help="query with a Mango selector ({...}) or RQL text")
    p.add_argument("db")
    p.add_argument("query")
    p.add_argument("--limit", type=int)
    p.set_defaults(func=cmd_find)
    p = sub.add_parser("changes", help="one JSON line per change")
    p.add_argument("db")
    p.add_argument("--since")
    p.add_argument("--follow", action="store_true", help="keep following (reconnects, resumes)")
    p.add_argument("--include-docs", action="store_true")
    p.set_defaults(func=cmd_changes)
    p = sub.add_parser("load", help="bulk-load a JSON-lines file")
    p.add_argument("db")
    p.add_argument("file")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--update", action="store_true", help="keep _rev fields (update in place)")
    p.set_defaults(func=cmd_load)
    p = sub.add_parser("dump", help="write every document as JSON lines to stdout")
    p.add_argument("db")
    p.set_defaults(func=cmd_dump)
    add_replicate_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.info:
        args.func = cmd_info
    elif args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except errors.NotFound as exc:
        print(f"settee: not found: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except KeyError as exc:  # client[name] for a database that does not exist
        print(f"settee: not found: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except errors.Conflict as exc:
        print(f"settee: conflict: {exc}", file=sys.stderr)
        return EXIT_CONFLICT
    except errors.RQLSyntaxError as exc:  # one line: the message, not its drawing of the text
        print(f"settee: invalid RQL: {str(exc).partition(chr(10))[0]}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        print(f"settee: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors.AccountLocked as exc:
        print(
            f"settee: account locked: CouchDB refuses this user after repeated failed logins "
            f"({exc.reason}); it unlocks when CouchDB's lockout period ends (5 minutes by "
            "default) - check the credentials and retry then",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except errors.SetteeError as exc:
        print(f"settee: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
