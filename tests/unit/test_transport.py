"""Transport pure logic: URL quoting, credentials, redaction, the retry policy, timeouts."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.response import HTTPResponse

from settee.auth.schemes import BasicAuth, BearerAuth, NoAuth
from settee.backends.http.support import (
    NO_INDEX_WARNING,
    capabilities_for,
    encode_params,
    may_lack_an_index,
    needs_membership,
    semantics_for,
    with_pouchdb_warning,
)
from settee.http.retry import RetryPolicy
from settee.http.transport import Transport
from settee.urls import doc_id_segments, quote_segment, redact_url, split_credentials

# -- quote_segment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "quoted"),
    [
        ("plain", "plain"),
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("...", "..."),  # not a dot-segment: no normalisation applies
        ("../other", "..%2Fother"),
        ("q?x=1", "q%3Fx%3D1"),
        ("frag#h", "frag%23h"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("sp ace", "sp%20ace"),
        ("plus+", "plus%2B"),
        ("ünï", "%C3%BCn%C3%AF"),
        ("d$(x)", "d%24%28x%29"),
        ("_design/x", "_design%2Fx"),  # a doc id goes through quote_doc_id
        ("_design/x/y", "_design%2Fx%2Fy"),
        ("_local/a b", "_local%2Fa%20b"),
        ("_local/..", "_local%2F.."),
        ("_design/", "_design%2F"),
        ("_all_docs", "_all_docs"),
        ("", ""),
    ],
)
def test_quote_segment(segment: str, quoted: str) -> None:
    assert quote_segment(segment) == quoted


def test_quote_segment_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        quote_segment(5)  # type: ignore[arg-type]


def test_transport_url_joins_quoted_segments() -> None:
    t = Transport("http://127.0.0.1:5984/")
    assert t.url() == "http://127.0.0.1:5984/"
    assert t.url("db", "a/b") == "http://127.0.0.1:5984/db/a%2Fb"
    assert t.url("db", "_design/d/x", "att/1.txt") == (
        "http://127.0.0.1:5984/db/_design%2Fd%2Fx/att%2F1.txt"
    )
    assert t.url("db", *doc_id_segments("_design/d/x"), "att/1.txt") == (
        "http://127.0.0.1:5984/db/_design/d%2Fx/att%2F1.txt"
    )
    t.close()


# -- credentials and redaction ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "clean", "creds"),
    [
        ("http://127.0.0.1:5984", "http://127.0.0.1:5984", None),
        ("http://127.0.0.1:5984/", "http://127.0.0.1:5984", None),
        ("http://admin:pw@127.0.0.1:5984", "http://127.0.0.1:5984", ("admin", "pw")),
        ("https://u%40x:p%3Aw%2F@host/prefix/", "https://host/prefix", ("u@x", "p:w/")),
        ("http://onlyuser@host:1", "http://host:1", ("onlyuser", "")),
        ("http://u:p@[::1]:5984", "http://[::1]:5984", ("u", "p")),
    ],
)
def test_split_credentials(url: str, clean: str, creds: tuple[str, str] | None) -> None:
    assert split_credentials(url) == (clean, creds)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:pw@h:5984/db", "http://h:5984/db"),
        ("http://h/db?apikey=SECRET&limit=1", "http://h/db?apikey=***&limit=1"),
        ("http://h/_session?password=SECRET", "http://h/_session?password=***"),
        (
            "http://h/x?token=SECRET&access_token=S2",
            "http://h/x?token=***&access_token=***",
        ),
        ("http://h/db/_all_docs?limit=10&skip=2", "http://h/db/_all_docs?limit=10&skip=2"),
        ("http://h/db/doc%2Fid", "http://h/db/doc%2Fid"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "SECRET" not in redact_url(url)


def test_transport_takes_credentials_from_the_url() -> None:
    t = Transport("http://admin:pa55@127.0.0.1:5984")
    assert t.base_url == "http://127.0.0.1:5984"
    assert isinstance(t.auth, BasicAuth) and t.auth.password == "pa55"
    assert "pa55" not in repr(t)
    t.close()
    explicit = BearerAuth("tok")
    t = Transport("http://admin:pa55@127.0.0.1:5984", auth=explicit)
    assert t.auth is explicit  # an explicit strategy wins over URL userinfo
    t.close()
    t = Transport("http://127.0.0.1:5984")
    assert isinstance(t.auth, NoAuth)
    t.close()


@pytest.mark.parametrize("url", ["127.0.0.1:5984", "ftp://h", "", "memory:"])
def test_transport_rejects_non_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        Transport(url)


def test_transport_rejects_a_non_url_without_echoing_secrets() -> None:
    with pytest.raises(ValueError) as info:
        Transport("ftp://user:hunter2@h")
    assert "hunter2" not in str(info.value)


def test_dumps_rejects_non_json_values() -> None:
    assert Transport.dumps({"a": [1, "x"]}) == b'{"a":[1,"x"]}'
    for bad in ({"x": object()}, {"x": float("nan")}, {1j: 1}):
        with pytest.raises(TypeError, match="JSON"):
            Transport.dumps(bad)


# -- RetryPolicy ----------------------------------------------------------------

POLICY = RetryPolicy(total=3, status_forcelist=(429, 502, 503, 504), allowed_methods=None)


@pytest.mark.parametrize(
    ("method", "url", "replayable"),
    [
        ("GET", "/db/doc", True),
        ("HEAD", "/db/doc", True),
        ("OPTIONS", "/", True),
        ("PUT", "/db/doc", False),  # create: a replay could write twice
        ("PUT", "/db/doc?rev=1-abc", True),  # a replay is a harmless 409
        ("PUT", "/db/doc?batch=ok&rev=2-x", True),
        ("PUT", "/db", False),  # create database
        ("PUT", "/db/_security", True),
        ("PUT", "/db/_revs_limit", True),
        ("DELETE", "/db/doc", False),
        ("DELETE", "/db/doc?rev=1-abc", True),
        ("DELETE", "/db", False),
        ("POST", "/db", False),  # create a document with a server-made id
        ("POST", "/db/_bulk_docs", False),
        ("POST", "/db/_find", True),
        ("POST", "/db/_explain", True),
        ("POST", "/db/_all_docs", True),
        ("POST", "/db/_revs_diff", True),
        ("POST", "/db/_bulk_get", True),
        ("POST", "/db/_changes?feed=longpoll", True),
        ("POST", "/_session", True),
        ("POST", "/db/_index", True),
        ("POST", "/db/_design/d/_view/v", True),
        ("POST", "/db/_partition/p/_design/d/_view/v", True),
        ("POST", "/db/_design/d/_update/u", False),
        ("POST", "/db/_compact", False),
        ("POST", "/_replicate", False),
        ("POST", "/db/doc%2F_find", False),  # an encoded id is not the _find endpoint
        ("PATCH", "/x", False),
        ("post", "http://h:1/db/_find", True),  # full URLs and lower-case methods too
        ("POST", "http://h:1/db/_bulk_docs?x=1", False),
    ],
)
def test_retry_policy_replayable(method: str, url: str, replayable: bool) -> None:
    assert POLICY.replayable(method, url) is replayable


def test_retry_post_opts_every_post_in() -> None:
    policy = RetryPolicy(total=1, retry_post=True)
    assert policy.replayable("POST", "/db/_bulk_docs")
    assert policy.replayable("POST", "/db")
    assert not policy.replayable("PUT", "/db/doc")
    assert policy.new(total=0).retry_post is True  # survives urllib3's copies


def _response(status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    return HTTPResponse(body=b"", status=status, headers=headers or {}, preload_content=True)


def test_status_retry_is_refused_for_a_post_that_may_have_applied() -> None:
    with pytest.raises(MaxRetryError):
        POLICY.increment("POST", "/db/_bulk_docs", response=_response(503))
    # ...and allowed (one fewer left) for a read-only POST
    left = POLICY.increment("POST", "/db/_find", response=_response(503))
    assert left.total == 2


def test_429_is_replayed_for_any_method() -> None:
    left = POLICY.increment("POST", "/db/_bulk_docs", response=_response(429))
    assert left.total == 2


def test_read_error_on_a_create_is_not_replayed() -> None:
    error = ReadTimeoutError(None, "/db", "read timed out")  # type: ignore[arg-type]
    with pytest.raises(ReadTimeoutError):
        POLICY.increment("POST", "/db", error=error)
    assert POLICY.increment("GET", "/db/doc", error=error).total == 2


def test_failed_connection_is_always_retried() -> None:
    error = NewConnectionError(None, "refused")  # type: ignore[arg-type]
    assert POLICY.increment("POST", "/db/_bulk_docs", error=error).total == 2


def test_retry_after_is_capped_by_backoff_max() -> None:
    policy = RetryPolicy(total=2, backoff_max=5)
    assert policy.get_retry_after(_response(503, {"Retry-After": "3600"})) == 5.0
    assert policy.get_retry_after(_response(503, {"Retry-After": "2"})) == 2.0
    assert policy.get_retry_after(_response(503)) is None


def test_transport_retry_options_are_validated() -> None:
    with pytest.raises(ValueError):
        Transport("http://h", max_retries=-1)
    with pytest.raises(TypeError, match="max_retries"):
        Transport("http://h", max_retries=True)
    with pytest.raises(TypeError, match="max_retries"):
        Transport("http://h", max_retries="3")
    with pytest.raises(TypeError, match="backoff_factor"):
        Transport("http://h", backoff_factor="x")
    with pytest.raises(ValueError):
        Transport("http://h", backoff_factor=-1)
    with pytest.raises(ValueError):
        Transport("http://h", retry_status_codes=(200,))
    t = Transport("http://h", max_retries=5, retry_status_codes=[503], retry_post=True)
    assert t.retry.total == 5 and t.retry.status_forcelist == (503,) and t.retry.retry_post
    t.close()


# -- timeouts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, (5.0, 5.0)),
        (0.25, (0.25, 0.25)),
        ((3, 60), (3.0, 60.0)),
        ((3, None), (3.0, None)),
        (None, None),
    ],
)
def test_timeouts_accepted(value: Any, expected: Any) -> None:
    t = Transport("http://h", timeout=value)
    assert t.timeout == expected
    t.close()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        ((0, 1), ValueError),
        ((1, 0), ValueError),
        ((1, -5), ValueError),
        (("1", 2), TypeError),  # the one number rule: the type is a TypeError
        (True, TypeError),
        ("5", TypeError),
        ((1, 2, 3), TypeError),
        ([1, 2], TypeError),
    ],
)
def test_timeouts_rejected(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Transport("http://h", timeout=value)
    with pytest.raises(error):
        Transport("http://h", feed_timeout=value)


# -- HTTP backend pure helpers ------------------------------------------------------


def test_encode_params() -> None:
    assert encode_params(
        {
            "key": "a",
            "startkey": ["x", 1],
            "endkey": {},
            "keys": ["a", "b"],
            "start_key": None,
            "include_docs": True,
            "descending": False,
            "limit": 10,
            "startkey_docid": "doc/1",
            "rev": "1-abc",
            "open_revs": ["1-a", "2-b"],
            "stale": "ok",
        }
    ) == {
        "key": '"a"',
        "startkey": '["x",1]',
        "endkey": "{}",
        "keys": '["a","b"]',
        "include_docs": "true",
        "descending": "false",
        "limit": "10",
        "startkey_docid": "doc/1",
        "rev": "1-abc",
        "open_revs": '["1-a","2-b"]',
        "stale": "ok",
    }
    assert encode_params({"open_revs": "all"}) == {"open_revs": "all"}
    assert encode_params({"key": True}) == {"key": "true"}
    assert encode_params({"key": None}) == {}
    assert encode_params(None) == {}
    with pytest.raises(TypeError):
        encode_params({"key": object()})


ASF = "The Apache Software Foundation"


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (
            {"express-pouchdb": "Welcome!", "vendor": {"name": "PouchDB authors"}},
            {"javascript_views", "sessions", "config", "bulk_get"},
        ),
        (
            {"couchdb": "Welcome", "version": "3.3.3", "vendor": {"name": ASF}},
            {
                "javascript_views", "sessions", "config", "db_updates", "partitions",
                "feed_timeout", "seq_interval", "mango_partial_indexes", "changes_selector",
                "changes_filter_404", "bulk_get", "server_replicator", "couchdb_view_surface",
                "mango_bookmarks",
            },
        ),
        (
            {"couchdb": "Welcome", "version": "2.3.1", "vendor": {"name": ASF}},
            {
                "javascript_views", "sessions", "config", "db_updates",
                "feed_timeout", "seq_interval", "mango_partial_indexes", "changes_selector",
                "changes_filter_404", "bulk_get", "server_replicator", "couchdb_view_surface",
                "mango_bookmarks",
            },
        ),
        (
            {"version": "3.3.3", "vendor": {"name": "IBM Cloudant", "variant": "paas"}},
            {
                "javascript_views", "sessions", "db_updates", "partitions",
                "feed_timeout", "seq_interval", "mango_partial_indexes", "changes_selector",
                "changes_filter_404", "bulk_get", "server_replicator", "couchdb_view_surface",
                "mango_bookmarks",
            },
        ),
        ({"couchdb": "Welcome"}, {"javascript_views", "sessions"}),
    ],
)  # fmt: skip
def test_capabilities_for(info: dict[str, Any], expected: set[str]) -> None:
    assert capabilities_for(info) == expected


_COUCHDB3 = {
    "couchdb": "Welcome",
    "version": "3.5.0",
    "vendor": {"name": "The Apache Software Foundation"},
}
_NODE = {"all_nodes": ["couchdb@127.0.0.1"], "cluster_nodes": ["couchdb@127.0.0.1"]}
_CLUSTER = {"all_nodes": ["a@h", "b@h", "c@h"], "cluster_nodes": ["a@h", "b@h", "c@h"]}


@pytest.mark.parametrize(
    ("info", "membership", "expected"),
    [
        ({"express-pouchdb": "Welcome!", "version": "4.2.0"}, None,
         {"changes_total_order", "read_your_writes", "strict_conflicts", "versioned_local_docs"}),
        (_COUCHDB3, _NODE, {"read_your_writes", "strict_conflicts"}),
        (_COUCHDB3, _CLUSTER, set()),
        (_COUCHDB3, None, set()),  # membership refused: promise only the baseline
        (_COUCHDB3, {"all_nodes": "?"}, set()),
        ({**_COUCHDB3, "vendor": {"name": "IBM Cloudant"}}, _NODE, set()),
    ],
)  # fmt: skip
def test_semantics_for(info: dict[str, Any], membership: object, expected: set[str]) -> None:
    assert semantics_for(info, membership) == expected


def test_only_an_apache_couchdb_is_asked_its_membership() -> None:
    assert needs_membership(_COUCHDB3)
    assert not needs_membership({"express-pouchdb": "Welcome!", "version": "4.2.0"})
    assert not needs_membership({**_COUCHDB3, "vendor": {"name": "IBM Cloudant"}})


# -- properties -----------------------------------------------------------------------------


@given(st.text())
def test_quote_segment_round_trips_and_stays_one_segment(segment: str) -> None:
    quoted = quote_segment(segment)
    assert unquote(quoted) == segment
    assert quoted.isascii()
    special = next((p for p in ("_design/", "_local/") if segment.startswith(p)), None)
    rest = quoted[len(special) :] if special and len(segment) > len(special) else quoted
    assert "/" not in rest and "?" not in rest and "#" not in rest
    assert rest not in (".", "..")


def test_pouchdb_warning_comes_back_only_where_its_plan_found_no_index() -> None:
    found = {"docs": [{"_id": "a"}]}
    no_index = {"index": {"ddoc": None, "name": "_all_docs", "defaultUsed": True}}
    assert with_pouchdb_warning(found, no_index) == {**found, "warning": NO_INDEX_WARNING}
    assert with_pouchdb_warning(found, {"index": {"ddoc": "_design/i", "name": "n"}}) is found
    assert with_pouchdb_warning(found, {"index": {"name": "_all_docs"}}) is found  # _id served
    assert may_lack_an_index({"selector": {"age": 6}})
    assert not may_lack_an_index({"selector": {"_id": {"$gt": "j"}, "age": 6}})
