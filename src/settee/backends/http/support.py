"""Pure helpers of the HTTP backend: query encoding, server identification, PouchDB bounds.

No I/O here. :func:`encode_params` turns Python query options into CouchDB's
wire form, :func:`capabilities_for` names what a server supports from its
``GET /`` answer, and :func:`bound_all_docs` / :func:`bound_find` add the
explicit upper bound PouchDB Server 4.2 needs to return every id.
Re-exported by :mod:`settee.backends.http`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from settee.http.transport import Transport

__all__ = [
    "NO_INDEX_WARNING",
    "capabilities_for",
    "encode_params",
    "is_cloudant",
    "is_pouchdb",
    "may_lack_an_index",
    "needs_membership",
    "semantics_for",
    "with_pouchdb_warning",
]

# Query options whose values are JSON (CouchDB parses them as JSON).
_JSON_PARAMS = frozenset(
    {"key", "keys", "startkey", "endkey", "start_key", "end_key", "open_revs", "atts_since"}
)

# Capabilities by server (names and meanings in backends.base.CAPABILITIES). PouchDB
# Server 4.2 lacks changes_filter_404: a _changes filter naming a missing design
# document or function kills its process, so the backend reads the design document
# first (one GET) and raises NotFound itself.
_POUCHDB_CAPS = frozenset({"javascript_views", "sessions", "config", "bulk_get"})
_COUCHDB2_CAPS = _POUCHDB_CAPS | {
    "mango_bookmarks",
    "changes_filter_404",
    "changes_selector",
    "db_updates",
    "feed_timeout",
    "seq_interval",
    "mango_partial_indexes",
    "server_replicator",
    "couchdb_view_surface",  # PouchDB Server's views lack these extras
}
_COUCHDB3_CAPS = _COUCHDB2_CAPS | {"partitions"}
# Cloudant has no user-visible /_config.
_CLOUDANT_CAPS = _COUCHDB3_CAPS - {"config"}
# Semantics (docs/semantics.md). PouchDB Server is one LevelDB/memory store: one
# sequence, versioned _local documents. A CouchDB node splits a database into q
# shards (changes ordered per shard only) and keeps _local documents unversioned;
# a single node keeps one copy of each shard, a cluster n (3): a read may reach a
# copy the write has not reached yet, and writes to two copies can both win.
_POUCHDB_SEMANTICS = frozenset(
    {"changes_total_order", "read_your_writes", "strict_conflicts", "versioned_local_docs"}
)
_COUCHDB_NODE_SEMANTICS = frozenset({"read_your_writes", "strict_conflicts"})


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query options as CouchDB expects them on the wire.

    JSON-valued options (``key``, ``keys``, ``startkey``, ``endkey``,
    ``start_key``, ``end_key``, ``open_revs``, ``atts_since``) and any list or
    dict are JSON-encoded (``open_revs="all"`` stays ``all``), booleans become
    ``true``/``false``, ``None`` is dropped, everything else is ``str()``.
    Raises ``TypeError`` for a value JSON cannot encode.
    """
    encoded: dict[str, str] = {}
    if not params:
        return encoded
    for name, value in params.items():
        if value is None:
            continue
        if name == "open_revs" and value == "all":
            encoded[name] = "all"
        elif name in _JSON_PARAMS or isinstance(value, (list, tuple, dict)):
            encoded[name] = Transport.dumps(value).decode()
        elif isinstance(value, bool):
            encoded[name] = "true" if value else "false"
        else:
            encoded[name] = str(value)
    return encoded


def is_pouchdb(info: Mapping[str, Any]) -> bool:
    """Whether a ``GET /`` answer is PouchDB Server's (``express-pouchdb``)."""
    vendor = info.get("vendor")
    return "express-pouchdb" in info or (
        isinstance(vendor, Mapping) and vendor.get("name") == "PouchDB authors"
    )


def is_cloudant(info: Mapping[str, Any]) -> bool:
    """Whether a ``GET /`` answer is IBM Cloudant's."""
    vendor = info.get("vendor")
    vendor_name = str(vendor.get("name", "")) if isinstance(vendor, Mapping) else ""
    return "cloudant" in vendor_name.lower() or "cloudant_build" in info


def needs_membership(info: Mapping[str, Any]) -> bool:
    """Whether :func:`semantics_for` reads ``GET /_membership`` for this server (an
    Apache CouchDB: PouchDB Server and Cloudant are decided by ``GET /`` alone)."""
    return not (is_pouchdb(info) or is_cloudant(info))


def capabilities_for(info: Mapping[str, Any]) -> frozenset[str]:
    """Capability names for a server, from its ``GET /`` answer.

    PouchDB Server (``express-pouchdb`` / vendor ``PouchDB authors``) has
    JavaScript views, sessions and ``_config``; Apache CouchDB 2 adds
    ``_db_updates``, feed timeouts, ``seq_interval`` and partial indexes, and
    CouchDB 3 partitions; Cloudant is CouchDB 3 without ``_config``.
    """
    if is_pouchdb(info):
        return _POUCHDB_CAPS
    if is_cloudant(info):
        return _CLOUDANT_CAPS
    version = str(info.get("version", ""))
    major = version.split(".", 1)[0]
    features = info.get("features")
    if major.isdigit() and int(major) >= 3:
        return _COUCHDB3_CAPS
    if major.isdigit() and int(major) == 2:
        caps = set(_COUCHDB2_CAPS)
        if isinstance(features, list) and "partitioned" in features:
            caps.add("partitions")
        return frozenset(caps)
    if major.isdigit():  # CouchDB 1.x
        return frozenset(
            {"javascript_views", "sessions", "config", "db_updates", "feed_timeout"}
            | {"changes_filter_404"}
        )
    return frozenset({"javascript_views", "sessions"})


def semantics_for(info: Mapping[str, Any], membership: object) -> frozenset[str]:
    """The semantics names (``read_your_writes``...) a server gives, from its ``GET /``
    answer and its ``GET /_membership`` answer (``None`` where that was refused).

    A CouchDB whose membership lists exactly one node is a single node; anything
    else (a cluster, Cloudant, an unknown membership) is treated as a cluster, which
    promises only what every backend does.
    """
    if is_pouchdb(info):
        return _POUCHDB_SEMANTICS
    if is_cloudant(info) or not isinstance(membership, Mapping):
        return frozenset()
    nodes = membership.get("all_nodes")
    if isinstance(nodes, list) and len(nodes) == 1:
        return _COUCHDB_NODE_SEMANTICS
    return frozenset()


# Above every real document id (ids compare as UTF-16 strings on PouchDB).
_HIGHEST_ID = "\uffff" * 8


def bound_all_docs(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params`` with an explicit far end for PouchDB Server's ``_all_docs``.

    Without ``endkey`` (``startkey`` when descending) PouchDB Server 4.2 stops
    at U+00FF: every id from U+0100 up is silently missing. An explicit
    bound above every id gives CouchDB's answer.
    """
    bounded = dict(params or {})
    if bounded.get("key") is not None or bounded.get("keys") is not None:
        return bounded
    far = ("startkey", "start_key") if bounded.get("descending") else ("endkey", "end_key")
    if all(bounded.get(name) is None for name in far):
        bounded[far[0]] = _HIGHEST_ID
    return bounded


def bound_find(query: dict[str, Any]) -> dict[str, Any]:
    """``query`` with an ``_id`` bound PouchDB Server's full scans need.

    A ``_find`` that no index serves scans ``_all_docs`` with the same
    U+00FF stop (see :func:`bound_all_docs`). Adding ``_id <= highest``
    (true of every document) makes the scan complete; an index still serves
    the query (and its ``sort``) where one fits. A query naming
    ``use_index`` is left as given.

    The bound hides PouchDB's ``warning`` that no index fits the query (its
    ``_all_docs`` index fits an ``_id`` field): :func:`may_lack_an_index` and
    :func:`with_pouchdb_warning` give it back from an ``_explain`` of the query.
    """
    selector = query.get("selector")
    if "use_index" in query or not isinstance(selector, dict):
        return query
    bounded = dict(query)
    bounded["selector"] = {"$and": [selector, {"_id": {"$lte": _HIGHEST_ID}}]}
    return bounded


#: PouchDB Server 4.2's words (CouchDB 3's too) when no index fits a ``_find``.
NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."


def may_lack_an_index(query: Mapping[str, Any]) -> bool:
    """Whether PouchDB might find no index for ``query``: not if it names ``_id``
    at the top of its selector (the ``_all_docs`` index fits that)."""
    selector = query.get("selector")
    return isinstance(selector, Mapping) and "_id" not in selector


def with_pouchdb_warning(result: dict[str, Any], plan: Mapping[str, Any]) -> dict[str, Any]:
    """``result`` of a bounded ``_find``, with the warning PouchDB gives the query as
    asked when its ``_explain`` (``plan``) says no index fitted (``defaultUsed``)."""
    index = plan.get("index")
    if isinstance(index, Mapping) and index.get("defaultUsed") is True:
        return {**result, "warning": NO_INDEX_WARNING}
    return result
