"""The ``settee`` command: a database shell for scripts, and the demo.

    settee [--url URL] [--user U --password P | --api-key K] COMMAND ... [options]

``--url`` defaults to ``$SETTEE_URL``, else an embedded SQLite file in the
user's data directory. The global options may come before or after the
command. Every user error is one line on standard error, never a traceback.
Exit codes: 0 success, 1 a server or database error, 2 bad usage or input,
3 the server cannot be reached, 4 not found, 5 conflict, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM: a clean stop, so ``changes --follow
--checkpoint`` saves its position as on Ctrl-C).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import platform
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import settee
from settee import __version__, errors
from settee.cli.demo import run_demo
from settee.cli.progress import chunked, progress
from settee.cli.replicate import add_replicate_command
from settee.feeds.base import JSON_LOADS
from settee.feeds.checkpoints import FileCheckpoint
from settee.feeds.normal import IJSON_BACKEND
from settee.results import raise_for_result

__all__ = ["default_url", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


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


class Unreachable(Exception):
    """The server did not answer the first request (exit 3)."""


class Terminated(BaseException):
    """SIGTERM arrived (exit 143): raised where the command is, so it stops cleanly.

    A BaseException, as KeyboardInterrupt is, so no ``except Exception`` on
    the way (in settee, requests or urllib3) takes it for an error to handle.
    """


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _has_terminal() -> bool:
    # getpass prompts on the controlling terminal and falls back to reading
    # standard input - which may be the document being loaded. Only prompt
    # where there is a terminal to prompt on.
    if sys.stdin is not None and sys.stdin.isatty():
        return True
    if sys.platform == "win32":
        return False
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def _password(args: argparse.Namespace) -> str:
    password: str | None = args.password
    if password is None:
        password = os.environ.get("SETTEE_PASSWORD")
    if password is None:
        if not _has_terminal():
            raise ValueError(
                f"no password for {args.user}: give --password or set SETTEE_PASSWORD "
                "(there is no terminal to ask on)"
            )
        try:
            password = getpass.getpass(f"password for {args.user}: ")
        except EOFError:
            raise ValueError(f"no password for {args.user}: the prompt was closed") from None
    return password


def _auth(args: argparse.Namespace) -> Any:
    if args.api_key:
        return settee.IAMAuth(args.api_key) if args.iam else settee.ApiKeyAuth(args.api_key)
    if args.user is not None:
        return settee.BasicAuth(args.user, _password(args))
    return None


def _connect(args: argparse.Namespace) -> Any:
    """The client for ``--url``; an HTTP server is asked once first, without retries.

    A refused connection, a timeout or a DNS failure on that first contact is
    :class:`Unreachable` at once (``--retries N`` retries it N times); the
    client the command then uses keeps settee's retry policy.
    """
    auth = _auth(args)
    url: str = args.url
    if url.lower().startswith(("http://", "https://")):
        with settee.connect(url, auth=auth, max_retries=args.retries) as probe:
            try:
                probe.metadata()
            except errors.TransportError as exc:
                raise Unreachable(f"cannot reach {probe.url}: {_transport_reason(exc)}") from exc
    if url.startswith("sqlite:///"):
        file = Path(url[len("sqlite:///") :].partition("?")[0])
        if file.is_dir():  # SQLite's own answer, "unable to open database file", hides why
            raise ValueError(f"{file} is a directory: name the SQLite file in it")
        if url == default_url():
            # The default store's directory is ours to create; a directory in a
            # URL the user gave must exist (ValueError naming it, as in the library).
            file.parent.mkdir(parents=True, exist_ok=True)
    return settee.connect(url, auth=auth)


def _transport_reason(exc: errors.TransportError) -> str:
    text = str(exc)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("getaddrinfo failed", "unknown host"),
        ("timed out", "timed out"),
    ):
        if needle in text:
            return reason
    return text


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
    print(json.dumps(info, ensure_ascii=False, sort_keys=True, indent=2))
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


def _fields(text: str | None, option: str, example: str) -> list[str] | None:
    if text is None:
        return None
    fields = [f.strip() for f in text.split(",") if f.strip()]
    if not fields:
        raise ValueError(f"{option} needs field names: {option} {example}")
    return fields


def _mango_sort(fields: list[str]) -> list[dict[str, str]]:
    return [{f[1:]: "desc"} if f.startswith("-") else {f.lstrip("+"): "asc"} for f in fields]


def cmd_find(args: argparse.Namespace) -> int:
    query = args.query.strip()
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be a positive integer")
    sort = _fields(args.sort, "--sort", "-n,name")
    fields = _fields(args.fields, "--fields", "_id,name")
    client = _connect(args)
    with client:
        db = client[args.db]
        if query.startswith("{"):
            try:
                selector = json.loads(query)
            except ValueError as exc:
                raise ValueError(f"the selector is not valid JSON: {exc}") from exc
            if not isinstance(selector, dict):
                raise ValueError("a Mango selector must be a JSON object")
            options: dict[str, Any] = {}
            if args.limit is not None:
                options["limit"] = args.limit
            results: Iterable[Any] = db.get_query_result(
                selector,
                fields=fields,
                sort=_mango_sort(sort) if sort else None,
                **options,
            )
        else:
            matches = db.filter(query)
            if sort:
                matches = matches.order_by(*sort)
            if fields:
                matches = matches.select(*fields)
            results = matches if args.limit is None else matches.limit(args.limit)
        try:
            for doc in results:
                _out(dict(doc))
        except errors.BadRequest as exc:
            if not sort or "index" not in str(exc).lower():
                raise
            # The server's hint names a Python call; name the command instead.
            fields_text = " ".join(f.lstrip("+-") for f in sort)
            print(
                f"settee: {exc.reason or exc}; sorting needs an index on the sort fields: "
                f"settee index create {args.db} {fields_text}",
                file=sys.stderr,
            )
            return EXIT_ERROR
    return EXIT_OK


def cmd_changes(args: argparse.Namespace) -> int:
    checkpoint = FileCheckpoint(args.checkpoint) if args.checkpoint else None
    client = _connect(args)
    with client:
        db = client[args.db]
        options: dict[str, Any] = {"include_docs": args.include_docs}
        since = args.since
        if checkpoint is not None and since is None:
            since = checkpoint.load()  # ValueError (exit 2) for a corrupt file
        if since is not None:
            options["since"] = since
        if args.follow:
            # The feed saves each printed change's seq (batched) and flushes on stop.
            feed: Any = db.infinite_changes(heartbeat=5000, checkpoint=checkpoint, **options)
        else:
            feed = db.changes(**options)
        try:
            for change in feed:
                print(json.dumps(change, ensure_ascii=False), flush=True)
        finally:
            feed.stop()
        if checkpoint is not None and not args.follow and feed.last_seq is not None:
            checkpoint.save(feed.last_seq)
            checkpoint.flush()
    return EXIT_OK


def _jsonl(stream: IO[str], name: str, *, keep_revs: bool) -> Iterator[tuple[int, dict[str, Any]]]:
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
        yield number, doc


#: Failed documents printed one a line by ``load``; the rest are only counted.
LOAD_ERRORS_SHOWN = 20


def cmd_load(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise ValueError("--batch must be a positive integer")
    path = Path(args.file)
    # A first pass counts the documents and checks every line, so a bad line
    # stops the load before anything is written (fix the file, run it again).
    with path.open(encoding="utf-8") as checking:  # OSError: exit 2, one line
        total = sum(1 for _ in _jsonl(checking, str(path), keep_revs=True))
    client = _connect(args)
    failed = written = skipped = 0
    with client, path.open(encoding="utf-8") as stream:
        db = client[args.db]
        numbered = progress(
            _jsonl(stream, str(path), keep_revs=args.update),
            total=total,
            desc="load",
            quiet=args.quiet,
        )
        for chunk in chunked(numbered, args.batch):
            results = db.bulk_docs([doc for _, doc in chunk])
            for (number, _), result in zip(chunk, results, strict=True):
                if "error" not in result:
                    written += 1
                elif args.skip_existing and result["error"] == "conflict":
                    skipped += 1
                else:
                    failed += 1
                    if failed <= LOAD_ERRORS_SHOWN:
                        reason = result.get("reason")
                        print(
                            f"{path} line {number}: {result.get('id')}: {result['error']} {reason}",
                            file=sys.stderr,
                        )
    if failed > LOAD_ERRORS_SHOWN:
        print(f"... and {failed - LOAD_ERRORS_SHOWN} more failed documents", file=sys.stderr)
    summary = f"loaded {written} documents into {args.db}"
    if args.skip_existing:
        summary += f", skipped {skipped} existing"
    print(f"{summary}, {failed} failed", file=sys.stderr)
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


def cmd_delete(args: argparse.Namespace) -> int:
    """``delete DB ID [--rev REV]``: a stale ``--rev`` is a conflict (exit 5)."""
    client = _connect(args)
    with client:
        db = client[args.db]
        rev = args.rev
        if rev is None:
            rev = db.get(args.id, remote=True)
            if rev is None:
                raise errors.NotFound(f"document {args.id!r} in {args.db}")
            rev = rev["_rev"]
        _out(db.delete_doc(args.id, rev))
    return EXIT_OK


def cmd_index_create(args: argparse.Namespace) -> int:
    """``index create DB FIELD... [--name N] [--ddoc D]``: a Mango json index."""
    fields = [f for f in args.fields if f.strip()]
    if not fields:
        raise ValueError("index create needs at least one field")
    client = _connect(args)
    with client:
        db = client[args.db]
        answer = db.create_query_index(
            design_document_id=args.ddoc, index_name=args.name, fields=fields
        )
        _out(answer)
    return EXIT_OK


def cmd_index_list(args: argparse.Namespace) -> int:
    """``index list DB``: one JSON line per index (``_all_docs`` included)."""
    client = _connect(args)
    with client:
        for index in client[args.db].get_query_indexes():
            _out(index)
    return EXIT_OK


def cmd_index_delete(args: argparse.Namespace) -> int:
    """``index delete DB DDOC NAME [--type json|text]``."""
    client = _connect(args)
    with client:
        _out(client[args.db].delete_query_index(args.ddoc, args.type, args.name))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    client = _connect(args)
    with client:
        run_demo(client, docs=args.docs, quiet=args.quiet, keep=args.keep)
    return EXIT_OK


# -- parsing ------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name.

    On the top-level parser they carry the defaults; on each command's parser
    they are SUPPRESSed, so a value given after the command overrides one
    given before it and an absent one leaves the default alone.
    """

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--url",
        default=default(default_url()),
        help="http(s)://host:port, memory:, or sqlite:///file.db "
        "(default: $SETTEE_URL, else an embedded SQLite file in your data directory)",
    )
    parser.add_argument("--user", default=default(None), help="user name (basic auth)")
    parser.add_argument(
        "--password",
        default=default(None),
        help="password (default: $SETTEE_PASSWORD, else a prompt on the terminal)",
    )
    parser.add_argument(
        "--api-key",
        default=default(None),
        help="an API key header value (Connect-style) or IAM key",
    )
    parser.add_argument(
        "--iam", action="store_true", default=default(False), help="--api-key is an IAM key"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=default(0),
        metavar="N",
        help="retry the first contact with an HTTP server N times (default 0: fail at once)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default(False),
        help="no progress bars (they are only drawn on a terminal anyway)",
    )


def _accept_global_options_after_commands(sub: Any) -> None:
    # Run last in build_parser, so a command registered anywhere (the
    # replicate command included) takes `settee CMD ... --url URL` too.
    for command_parser in {id(p): p for p in sub.choices.values()}.values():
        if not getattr(command_parser, "_settee_globals", False):
            _global_options(command_parser, defaults=False)
            command_parser._settee_globals = True


def _add_delete(sub: Any) -> None:
    p = sub.add_parser("delete", help="delete a document (its current revision unless --rev)")
    p.add_argument("db")
    p.add_argument("id")
    p.add_argument("--rev", help="the revision to delete (a stale one is a conflict, exit 5)")
    p.set_defaults(func=cmd_delete)


def _add_index(sub: Any) -> None:
    p = sub.add_parser("index", help="Mango indexes: create, list, delete")
    actions = p.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    a = actions.add_parser("create", help="create a json index on FIELD...")
    a.add_argument("db")
    a.add_argument("fields", nargs="+", metavar="FIELD")
    a.add_argument("--name", help="index name (default: chosen by the server)")
    a.add_argument("--ddoc", help="design document (default: chosen by the server)")
    a.set_defaults(func=cmd_index_create)
    a = actions.add_parser("list", help="one JSON line per index")
    a.add_argument("db")
    a.set_defaults(func=cmd_index_list)
    a = actions.add_parser("delete", help="delete the index NAME of design document DDOC")
    a.add_argument("db")
    a.add_argument("ddoc")
    a.add_argument("name")
    a.add_argument("--type", default="json", choices=("json", "text"))
    a.set_defaults(func=cmd_index_delete)
    _accept_global_options_after_commands(actions)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="settee",
        description="settee: CouchDB-style databases from the shell.",
        epilog="exit codes: 0 ok, 1 error, 2 usage/input, 3 server unreachable, "
        "4 not found, 5 conflict, 130 interrupted, 143 terminated",
    )
    _global_options(parser, defaults=True)
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
    p.add_argument("--limit", type=int, help="at most N documents")
    p.add_argument("--sort", help="fields to sort by, -field descending: --sort=-n,name")
    p.add_argument("--fields", help="fields to return: --fields _id,name")
    p.set_defaults(func=cmd_find)
    p = sub.add_parser("changes", help="one JSON line per change")
    p.add_argument("db")
    p.add_argument("--since")
    p.add_argument("--follow", action="store_true", help="keep following (reconnects, resumes)")
    p.add_argument("--include-docs", action="store_true")
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="start from the seq saved in FILE and save the position there",
    )
    p.set_defaults(func=cmd_changes)
    p = sub.add_parser("load", help="bulk-load a JSON-lines file")
    p.add_argument("db")
    p.add_argument("file")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--update", action="store_true", help="keep _rev fields (update in place)")
    p.add_argument(
        "--skip-existing",
        action="store_true",
        help="count documents whose id exists as skipped, not failed",
    )
    p.set_defaults(func=cmd_load)
    p = sub.add_parser("dump", help="write every document as JSON lines to stdout")
    p.add_argument("db")
    p.set_defaults(func=cmd_dump)
    add_replicate_command(sub)
    _add_delete(sub)
    _add_index(sub)
    _accept_global_options_after_commands(sub)
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
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main_thread else None
    try:
        return _run(args)
    finally:
        if on_main_thread and previous is not None:  # None: not set from Python
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        code: int = args.func(args)
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated:
        return EXIT_TERMINATED
    except BrokenPipeError:
        return EXIT_OK
    except Unreachable as exc:
        print(f"settee: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
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
    # After settee's errors: the HTTP backend's are also requests.HTTPError, an
    # OSError, and belong to the branches above (a locked account was exit 2).
    except OSError as exc:  # a file the command reads or writes
        where = f": {exc.filename}" if exc.filename else ""
        print(f"settee: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
