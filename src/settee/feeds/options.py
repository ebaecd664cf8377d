"""Feed option validation: what ``db.changes()`` and friends accept, checked before any request.

:func:`_validate` turns keyword options into a :class:`FeedSpec` (query
params, POST body, raw flag, chunk size) or raises ``TypeError`` (an unknown
option, a value of the wrong type) / ``ValueError`` (a value out of range);
:func:`_split_infinite` takes the :class:`~settee.feeds.InfiniteFeed` options
out first and fills in its defaults. :func:`feed_spec` is both, for each feed
method by its name (what the sync and async databases and clients call).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

from settee import errors
from settee._validate import check_int, check_number, is_int
from settee.feeds.checkpoints import CheckpointStore
from settee.rows import Seq

__all__ = [
    "FEED_KINDS",
    "INFINITE_HEARTBEAT_MS",
    "ChangesOptions",
    "DbUpdatesOptions",
    "InfiniteChangesOptions",
    "InfiniteDbUpdatesOptions",
    "InfiniteOptions",
]

FEED_KINDS = ("normal", "longpoll", "continuous")
#: Heartbeat (ms) an InfiniteFeed asks for when none is given: a dead
#: connection is noticed after about twice this.
INFINITE_HEARTBEAT_MS = 30000

FeedKind = Literal["normal", "longpoll", "continuous"]

# The ONE table of feed options: these TypedDicts type ``**options`` (through
# ``Unpack``) and their keys are the names accepted at runtime.


class _DbUpdatesCommon(TypedDict, total=False):
    feed: FeedKind | None
    since: Seq | None
    descending: bool | None
    heartbeat: float | bool | None
    timeout: float | None
    chunk_size: int | None


class _ChangesCommon(_DbUpdatesCommon, total=False):
    filter: str | None
    doc_ids: Sequence[str] | None
    selector: Mapping[str, Any] | None
    view: str | None
    style: Literal["main_only", "all_docs"] | None
    seq_interval: int | None
    query_params: Mapping[str, Any] | None
    include_docs: bool | None
    conflicts: bool | None
    attachments: bool | None
    att_encoding_info: bool | None


class ChangesOptions(_ChangesCommon, total=False):
    """``db.changes()`` options besides ``raw_data`` (CouchDB's names; ms for times)."""

    limit: int | None


class DbUpdatesOptions(_DbUpdatesCommon, total=False):
    """``client.db_updates()`` options besides ``raw_data``."""

    limit: int | None


class InfiniteOptions(TypedDict, total=False):
    """What :class:`~settee.feeds.InfiniteFeed` itself takes (reconnects and checkpoints)."""

    checkpoint: CheckpointStore | None
    max_reconnects: int | None
    on_error: Callable[[BaseException, float], None] | None
    backoff_base: float
    backoff_max: float


class InfiniteChangesOptions(_ChangesCommon, InfiniteOptions, total=False):
    """``db.infinite_changes()`` options besides ``raw_data`` (no ``limit``)."""


class InfiniteDbUpdatesOptions(_DbUpdatesCommon, InfiniteOptions, total=False):
    """``client.infinite_db_updates()`` options besides ``raw_data`` (no ``limit``)."""


_BOOL_OPTIONS = ("include_docs", "conflicts", "descending", "attachments", "att_encoding_info")
# ``limit`` stays accepted by the infinite feeds at runtime, to refuse it with a reason.
_CHANGES_OPTIONS = frozenset(ChangesOptions.__annotations__) | {"raw_data"}
_DB_UPDATES_OPTIONS = frozenset(DbUpdatesOptions.__annotations__) | {"raw_data"}
_INFINITE_OPTIONS = frozenset(InfiniteOptions.__annotations__)


class FeedSpec:
    """Validated options of one feed: query params, POST body, raw flag, chunk size."""

    def __init__(
        self, params: dict[str, Any], body: dict[str, Any] | None, raw: bool, chunk_size: int
    ) -> None:
        self.params = params
        self.body = body
        self.raw = raw
        self.chunk_size = chunk_size


def _validate(
    options: Mapping[str, Any], allowed: frozenset[str], *, what: str, default_feed: str
) -> FeedSpec:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"{what}() got unexpected option(s): {', '.join(unknown)}")
    opts = dict(options)
    feed = opts.pop("feed", None) or default_feed
    if feed not in FEED_KINDS:
        raise ValueError(f"feed must be one of {', '.join(FEED_KINDS)}, not {feed!r}")
    raw = opts.pop("raw_data", False)
    if not isinstance(raw, bool):
        raise TypeError(f"raw_data must be a bool, not {raw!r}")
    chunk_size = opts.pop("chunk_size", None)
    chunk_size = 65536 if chunk_size is None else check_int("chunk_size", chunk_size, 1)
    since = opts.get("since")
    if since is not None and not (is_int(since) or isinstance(since, (str, list))):
        raise TypeError(f"since must be a seq (str or int) or 'now', not {since!r}")
    if isinstance(since, int) and since < 0:
        raise ValueError(f"since must be >= 0, not {since!r}")
    if opts.get("limit") is not None:
        check_int("limit", opts["limit"])
    for name in _BOOL_OPTIONS:
        if opts.get(name) is not None and not isinstance(opts[name], bool):
            raise TypeError(f"{name} must be a bool, not {opts[name]!r}")
    heartbeat = opts.get("heartbeat")  # True: CouchDB's default interval
    if heartbeat is not None and not isinstance(heartbeat, bool):
        check_number("heartbeat", heartbeat, strict=True)
    if opts.get("timeout") is not None:
        check_number("timeout", opts["timeout"], strict=True)
    if opts.get("seq_interval") is not None:
        check_int("seq_interval", opts["seq_interval"], 1)
    for name in ("filter", "view"):
        if opts.get(name) is not None and not isinstance(opts[name], str):
            raise TypeError(f"{name} must be a str, not {opts[name]!r}")
    style = opts.get("style")
    if style is not None and style not in ("main_only", "all_docs"):
        raise ValueError(f"style must be 'main_only' or 'all_docs', not {style!r}")
    body: dict[str, Any] | None = None
    doc_ids = opts.pop("doc_ids", None)
    selector = opts.pop("selector", None)
    if doc_ids is not None and selector is not None:
        raise ValueError("give doc_ids or selector, not both")
    if doc_ids is not None:
        if isinstance(doc_ids, str) or not all(isinstance(d, str) for d in doc_ids):
            raise TypeError("doc_ids must be a list of document ids (str)")
        if opts.get("filter") not in (None, "_doc_ids"):
            raise ValueError("doc_ids sets filter=_doc_ids; another filter cannot be combined")
        opts["filter"] = "_doc_ids"
        body = {"doc_ids": list(doc_ids)}
    if selector is not None:
        if not isinstance(selector, Mapping):
            raise TypeError(f"selector must be a dict (a Mango selector), not {selector!r}")
        if opts.get("filter") not in (None, "_selector"):
            raise ValueError("selector sets filter=_selector; another filter cannot be combined")
        opts["filter"] = "_selector"
        body = {"selector": dict(selector)}
    if opts.get("view") is not None and opts.get("filter") is None:
        opts["filter"] = "_view"  # CouchDB needs both
    extra = opts.pop("query_params", None)
    params: dict[str, Any] = {"feed": feed}
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise TypeError("query_params must be a mapping (parameters for a filter function)")
        clash = sorted(set(extra) & (_CHANGES_OPTIONS | {"feed"}))
        if clash:
            raise ValueError(f"query_params may not set feed options: {', '.join(clash)}")
        params.update(extra)
    params.update({k: v for k, v in opts.items() if v is not None})
    return FeedSpec(params, body, raw, chunk_size)


_FEED_METHODS = {
    "changes": (_CHANGES_OPTIONS, False),
    "infinite_changes": (_CHANGES_OPTIONS, True),
    "db_updates": (_DB_UPDATES_OPTIONS, False),
    "infinite_db_updates": (_DB_UPDATES_OPTIONS, True),
}


def feed_spec(
    what: Literal["changes", "infinite_changes", "db_updates", "infinite_db_updates"],
    options: Mapping[str, Any],
    raw_data: bool,
) -> tuple[FeedSpec, dict[str, Any]]:
    """The checked options of the feed method ``what``: its :class:`FeedSpec` and the
    options of the :class:`~settee.feeds.InfiniteFeed` it builds (``{}`` for a Feed)."""
    allowed, infinite_feed = _FEED_METHODS[what]
    given = dict(options, raw_data=raw_data)
    if not infinite_feed:
        return _validate(given, allowed, what=what, default_feed="normal"), {}
    rest, infinite = _split_infinite(given, what)
    return _validate(rest, allowed, what=what, default_feed="continuous"), infinite


def no_selector_filter(kind: str, url: str) -> errors.NotSupported:
    """What a ``selector=`` feed raises, before sending, on a backend without the
    ``changes_selector`` capability (PouchDB Server 4.2.0's process dies on one)."""
    return errors.NotSupported(
        f"the {kind} backend at {url} has no _selector filter for _changes (CouchDB 2+ "
        "and settee's embedded stores have one); filter the rows client-side or use doc_ids"
    )


def _split_infinite(options: dict[str, Any], what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    infinite = {k: options.pop(k) for k in list(options) if k in _INFINITE_OPTIONS}
    if "limit" in options and options["limit"] is not None:
        raise TypeError(f"{what}() follows the feed for ever: limit does not apply")
    feed = options.get("feed") or "continuous"
    if feed == "normal":
        raise ValueError(f"{what}() needs feed='continuous' or 'longpoll'")
    options["feed"] = feed
    if options.get("heartbeat") is None and options.get("timeout") is None:
        options["heartbeat"] = INFINITE_HEARTBEAT_MS
    return options, infinite
