"""The pure feed-body parsers (settee.feeds.parse): no I/O, bodies fed as byte chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settee.errors import FeedError
from settee.feeds.base import JSON_LOADS
from settee.feeds.normal import IJSON_BACKEND, IntegerOverflow, NormalFeedParser, trailing_members
from settee.feeds.parse import feed_parser
from settee.feeds.stream import HEARTBEAT, ContinuousFeedParser, dechunk

# -- bodies in the layouts real servers send -----------------------------------------


def couchdb_body(rows: list[dict[str, Any]], last_seq: Any, pending: int | None = 0) -> bytes:
    """CouchDB 3: ``{"results":[\\n`` rows joined by ``,\\r\\n``, then the trailer."""
    out = '{"results":[\n' + ",\r\n".join(json.dumps(r, separators=(",", ":")) for r in rows)
    out += '\n],\n"last_seq":' + json.dumps(last_seq)
    if pending is not None:
        out += ',"pending":' + str(pending)
    return (out + "}\n").encode()


def pouchdb_body(rows: list[dict[str, Any]], last_seq: Any) -> bytes:
    """PouchDB Server: the whole body on one line."""
    return json.dumps({"results": rows, "last_seq": last_seq}, separators=(",", ":")).encode()


def continuous_body(rows: list[dict[str, Any]], last_seq: Any, heartbeats: int = 0) -> bytes:
    lines = []
    for i, row in enumerate(rows):
        lines.append(json.dumps(row, separators=(",", ":")))
        if heartbeats and i % heartbeats == 0:
            lines.append("")
    lines.append(json.dumps({"last_seq": last_seq, "pending": 0}))
    return ("\n".join(lines) + "\n").encode()


def chunked(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """``data`` cut at the given sizes (cycled), like a network would."""
    pos = 0
    i = 0
    while pos < len(data):
        size = max(1, sizes[i % len(sizes)]) if sizes else len(data)
        yield data[pos : pos + size]
        pos += size
        i += 1


def make_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "seq": f"{i}-g1AAAA{'x' * (i % 7)}",
            "id": f"doc-{i}",
            "changes": [{"rev": f"1-{i:032x}"}],
            "doc": {"_id": f"doc-{i}", "n": i, "f": i / 4, "s": 'q"uo\\te ] } ,\n', "u": "é✓"},
        }
        for i in range(1, n + 1)
    ]


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f + 0.5),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "seq": st.one_of(st.integers(0, 10**9), st.text(min_size=1, max_size=30)),
            "id": st.text(max_size=20),
        },
        optional={"doc": st.dictionaries(st.text(max_size=8), json_values, max_size=5)},
    ),
    max_size=8,
)
chunk_sizes = st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8)


# -- normal / longpoll -----------------------------------------------------------------


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize("layout", ["couchdb", "pouchdb"])
def test_normal_body_rows_last_seq_pending(layout: str, raw: bool) -> None:
    rows = make_rows(50)
    body = couchdb_body(rows, "50-zz") if layout == "couchdb" else pouchdb_body(rows, "50-zz")
    parser = NormalFeedParser(chunked(body, [7, 1, 300]), raw=raw)
    got = list(parser)
    assert [json.loads(r) for r in got] if raw else got == rows
    if raw:
        assert [json.loads(r) for r in got] == rows
        assert all(isinstance(r, str) for r in got)
    assert parser.last_seq == "50-zz"
    assert parser.pending == (0 if layout == "couchdb" else None)
    assert parser.finished


def test_raw_rows_are_the_exact_text_the_server_sent() -> None:
    rows = make_rows(3)
    texts = [json.dumps(r, indent=1) for r in rows]  # unusual whitespace inside rows
    body = ('{ "results" : [ ' + " ,\n ".join(texts) + ' ] , "last_seq" : 3 }').encode()
    parser = NormalFeedParser(chunked(body, [5]), raw=True)
    assert list(parser) == texts
    assert parser.last_seq == 3


def test_numbers_are_int_and_float_not_decimal() -> None:
    body = couchdb_body([{"seq": 1, "id": "a", "doc": {"i": 3, "f": 2.5, "e": -1e300}}], 1)
    (row,) = NormalFeedParser([body])
    assert row["doc"] == {"i": 3, "f": 2.5, "e": -1e300}
    assert type(row["doc"]["f"]) is float and type(row["doc"]["i"]) is int


def test_integers_beyond_64_bits_ask_for_the_exact_parser() -> None:
    rows = [{"seq": 1, "id": "a"}, {"seq": 2, "id": "b", "doc": {"big": 10**20}}]
    body = couchdb_body(rows, 2)
    got: list[Any] = []
    parser = NormalFeedParser(chunked(body, [40]))
    with pytest.raises(IntegerOverflow) as info:
        got.extend(parser)
    assert info.value.last_seq == (got[-1]["seq"] if got else None)
    exact = NormalFeedParser(chunked(body, [40]), exact=True)
    assert list(exact) == rows and exact.last_seq == 2


def test_empty_results_and_members_before_results() -> None:
    parser = NormalFeedParser([b'{"results":[],"last_seq":"0","pending":0}'])
    assert list(parser) == [] and parser.last_seq == "0" and parser.pending == 0
    # last_seq before results (no server does this, but it is valid JSON)
    for raw in (False, True):
        body = b'{"last_seq": 7, "results": [{"seq": 7, "id": "x"}]}'
        p = NormalFeedParser(chunked(body, [3]), raw=raw)
        got = list(p)
        assert len(got) == 1
        if raw:  # the text scanner reads every member
            assert p.last_seq == 7


def test_old_style_array_seq() -> None:
    body = b'{"results":[{"seq":[1,"a]b"],"id":"x"}],"last_seq":[1,"a]b"],"pending":0}'
    for raw in (False, True):
        p = NormalFeedParser(chunked(body, [4]), raw=raw)
        assert len(list(p)) == 1
        assert p.last_seq == [1, "a]b"]


@settings(max_examples=150, deadline=None)
@given(
    rows=rows_strategy,
    last_seq=st.text(max_size=40) | st.integers(0, 10**6),
    sizes=chunk_sizes,
    layout=st.sampled_from(["couchdb", "pouchdb"]),
    raw=st.booleans(),
)
def test_any_chunking_of_a_body_parses_the_same(
    rows: list[dict[str, Any]], last_seq: Any, sizes: list[int], layout: str, raw: bool
) -> None:
    body = couchdb_body(rows, last_seq) if layout == "couchdb" else pouchdb_body(rows, last_seq)
    parser = NormalFeedParser(chunked(body, sizes), raw=raw)
    got = list(parser)
    decoded = [json.loads(r) for r in got] if raw else got
    assert decoded == json.loads(body)["results"]
    assert parser.last_seq == last_seq


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy.filter(bool), data=st.data(), raw=st.booleans())
def test_truncated_normal_body_raises_feed_error_with_last_good_seq(
    rows: list[dict[str, Any]], data: st.DataObject, raw: bool
) -> None:
    body = couchdb_body(rows, "end")
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 3))
    handed_out: list[Any] = []
    with pytest.raises(FeedError) as info:
        for row in NormalFeedParser(chunked(body[:cut], [5, 11]), raw=raw):
            handed_out.append(json.loads(row) if raw else row)
    expected = handed_out[-1]["seq"] if handed_out else None
    assert info.value.last_seq == expected
    assert handed_out == rows[: len(handed_out)]  # never a fake row


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize(
    "body",
    [
        b'{"results":[{"seq":1,"id":"a"},{"seq":2,"id":"b"} {"seq":3}],"last_seq":3}',
        b'{"results":[{"seq":1,"id":"a"},{"seq":2,"id":"b"},nope],"last_seq":3}',
        b'{"results":[{"seq":1,"id":"a"},{"seq":2,"id":"b"},3],"last_seq":3}',
        b'{"results":[{"seq":1,"id":"a"},{"seq":2,"id":"b"}],"last_seq":3}garbage',
    ],
)
def test_malformed_normal_body_raises_feed_error(body: bytes, raw: bool) -> None:
    got: list[Any] = []
    with pytest.raises(FeedError) as info:
        got.extend(NormalFeedParser(chunked(body, [9]), raw=raw))
    assert len(got) <= 2
    assert info.value.last_seq in (None, 1, 2)
    assert "last good seq" in str(info.value)


@pytest.mark.parametrize("raw", [False, True])
@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"results":[]}', b'{"error":"x","reason":"y"}', b"\xff\xfe{}"],
)
def test_bodies_that_are_not_feeds(body: bytes, raw: bool) -> None:
    with pytest.raises(FeedError):
        list(NormalFeedParser([body], raw=raw))


def test_source_errors_get_the_last_good_seq() -> None:
    def source() -> Iterator[bytes]:
        yield b'{"results":[{"seq":"1-a","id":"a"},'
        raise FeedError("the connection broke after 40 bytes")

    for raw in (False, True):
        with pytest.raises(FeedError) as info:
            list(NormalFeedParser(source(), raw=raw))
        assert info.value.last_seq == "1-a"
        assert "connection broke" in str(info.value)


def test_rows_are_yielded_before_the_body_ends() -> None:
    # A longpoll answer trickling in: the first row is out before the rest arrives.
    seen: list[str] = []

    def source() -> Iterator[bytes]:
        yield b'{"results":[{"seq":1,"id":"a"},'
        seen.append("second chunk requested")
        yield b'{"seq":2,"id":"b"}],"last_seq":2}'

    for raw in (False, True):
        seen.clear()
        it = iter(NormalFeedParser(source(), raw=raw))
        first = next(it)
        assert (json.loads(first) if raw else first)["seq"] == 1
        rest = list(it)
        assert len(rest) == 1 and seen == ["second chunk requested"]


def test_trailing_members_reads_only_the_trailer() -> None:
    tail = b'"doc":{"x":"],\\"last_seq\\":9"}}\n],\n"last_seq":"5-a","pending":3}\n'
    assert trailing_members(tail) == {"last_seq": "5-a", "pending": 3}
    assert trailing_members(b'{"results":[],"last_seq":0}') == {"last_seq": 0}
    assert trailing_members(b"{}") == {}
    with pytest.raises(ValueError):
        trailing_members(b"[1,2]")


def test_large_row_over_many_small_chunks_is_linear_enough() -> None:
    big = {"seq": 1, "id": "big", "doc": {"blob": "x" * 300_000}}
    body = couchdb_body([big], 1)
    for raw in (False, True):
        parser = NormalFeedParser(chunked(body, [512]), raw=raw)
        (row,) = list(parser)
        assert (json.loads(row) if raw else row)["doc"]["blob"] == "x" * 300_000


# -- continuous ----------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy, sizes=chunk_sizes, raw=st.booleans(), hb=st.integers(0, 3))
def test_continuous_any_chunking(
    rows: list[dict[str, Any]], sizes: list[int], raw: bool, hb: int
) -> None:
    body = continuous_body(rows, "last", heartbeats=hb)
    parser = ContinuousFeedParser(chunked(body, sizes), raw=raw)
    got = list(parser)
    assert ([json.loads(r) for r in got] if raw else got) == rows
    assert parser.last_seq == "last" and parser.pending == 0 and parser.finished


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy, sizes=chunk_sizes, raw=st.booleans(), hb=st.integers(1, 3))
def test_continuous_heartbeats_flag_yields_one_sentinel_per_blank_line(
    rows: list[dict[str, Any]], sizes: list[int], raw: bool, hb: int
) -> None:
    body = b"\n \n" + continuous_body(rows, "last", heartbeats=hb)  # two before any row
    expected: list[Any] = [HEARTBEAT, HEARTBEAT]
    for i, row in enumerate(rows):
        expected.append(row)
        if i % hb == 0:
            expected.append(HEARTBEAT)
    parser = ContinuousFeedParser(chunked(body, sizes), raw=raw, heartbeats=True)
    got = [r if r is HEARTBEAT or not raw else json.loads(r) for r in parser]
    assert got == expected
    assert [i for i, r in enumerate(got) if r is HEARTBEAT] == [
        i for i, r in enumerate(expected) if r is HEARTBEAT
    ]
    assert parser.last_seq == "last" and parser.pending == 0 and parser.finished
    # Without the flag (the default) the same body's heartbeats are skipped.
    plain = list(ContinuousFeedParser(chunked(body, sizes), raw=raw))
    assert HEARTBEAT not in plain and len(plain) == len(rows)


def test_continuous_heartbeat_is_yielded_as_it_arrives() -> None:
    requested: list[int] = []

    def source() -> Iterator[bytes]:
        for i in range(3):
            requested.append(i)
            yield b"\n"
        yield b'{"last_seq":0}\n'

    it = iter(ContinuousFeedParser(source(), heartbeats=True))
    for i in range(3):
        assert next(it) is HEARTBEAT
        assert requested[-1] == i  # not read ahead: an idle feed hands each one out
    assert list(it) == []
    assert repr(HEARTBEAT) == "HEARTBEAT"


def test_continuous_yields_each_complete_line_at_once() -> None:
    requested: list[int] = []

    def source() -> Iterator[bytes]:
        for i in range(1, 4):
            requested.append(i)
            yield b'{"seq":%d,"id":"d"}\n' % i
            yield b"\n"  # heartbeat
        yield b'{"last_seq":3,"pending":0}\n'

    it = iter(ContinuousFeedParser(source()))
    for i in range(1, 4):
        assert next(it)["seq"] == i
        assert requested[-1] == i  # nothing read ahead of the row handed out
    assert list(it) == []


def test_continuous_truncated_and_malformed() -> None:
    body = continuous_body(make_rows(3), "z")
    with pytest.raises(FeedError) as info:
        list(ContinuousFeedParser([body[: body.index(b"\n", 10) + 30]]))
    assert info.value.last_seq == "1-g1AAAAx"
    with pytest.raises(FeedError, match="without its last_seq"):
        list(ContinuousFeedParser([body[: body.index(b"\n") + 1]]))
    with pytest.raises(FeedError, match="malformed line"):
        list(ContinuousFeedParser([b'{"seq":1,"id":"a"}\n{"seq":2,\n']))
    with pytest.raises(FeedError, match="reported an error"):
        list(ContinuousFeedParser([b'{"seq":1,"id":"a"}\n{"error":"x","reason":"y"}\n']))
    with pytest.raises(FeedError, match="not an object"):
        list(ContinuousFeedParser([b"[1]\n"]))


def test_continuous_raw_rows_are_text() -> None:
    body = b'{"seq":1,"id":"a"}\r\n\n{"seq":2,"id":"b"}\n{"last_seq":2}\n'
    parser = ContinuousFeedParser(chunked(body, [3]), raw=True)
    assert list(parser) == ['{"seq":1,"id":"a"}', '{"seq":2,"id":"b"}']
    assert parser.last_seq == 2 and parser.pending is None


def test_feed_parser_picks_by_kind() -> None:
    assert isinstance(feed_parser("longpoll", []), NormalFeedParser)
    assert isinstance(feed_parser("continuous", []), ContinuousFeedParser)
    with pytest.raises(ValueError):
        feed_parser("eventsource", [])


def test_backend_names_are_reported() -> None:
    assert IJSON_BACKEND in ("yajl2_c", "yajl2_cffi", "yajl2", "yajl", "python")
    assert JSON_LOADS in ("orjson", "json")


# -- chunked transfer decoding ---------------------------------------------------------


def encode_chunked(payload: bytes, sizes: list[int], extension: bool = False) -> bytes:
    out = b""
    for piece in chunked(payload, sizes):
        ext = b";name=value" if extension else b""
        out += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


@settings(max_examples=200, deadline=None)
@given(
    payload=st.binary(max_size=3000),
    chunk_sizes=st.lists(st.integers(1, 700), min_size=1, max_size=5),
    block_sizes=chunk_sizes,
    extension=st.booleans(),
)
def test_dechunk_any_framing_and_any_reads(
    payload: bytes, chunk_sizes: list[int], block_sizes: list[int], extension: bool
) -> None:
    wire = encode_chunked(payload, chunk_sizes, extension)
    assert b"".join(dechunk(chunked(wire, block_sizes))) == payload


def test_dechunk_hands_out_partial_chunks_at_once() -> None:
    got = dechunk(iter([b"a\r\n01234", b"56789\r\n0\r\n\r\n"]))
    assert next(got) == b"01234"  # no waiting for the rest of the chunk
    assert next(got) == b"56789"
    assert list(got) == []


@pytest.mark.parametrize(
    "wire",
    [b"5\r\nabc", b"5\r\nabcde\r\n", b"zz\r\nabc\r\n", b"3\r\nabcXY0\r\n\r\n", b"1" * 5000],
)
def test_dechunk_truncated_or_malformed(wire: bytes) -> None:
    with pytest.raises(FeedError):
        list(dechunk(chunked(wire, [3])))


def test_the_consumer_and_the_network_wait_run_with_the_collector_as_it_was() -> None:
    import gc

    states: list[bool] = []

    def source() -> Iterator[bytes]:
        states.append(gc.isenabled())  # the "network wait"
        yield b'{"results":[{"seq":1,"id":"a"},'
        states.append(gc.isenabled())
        yield b'{"seq":2,"id":"b"}],"last_seq":2}'

    for row in NormalFeedParser(source()):
        states.append(gc.isenabled())
        assert row["seq"] in (1, 2)
    assert states == [True] * 4 and gc.isenabled()
    gc.disable()
    try:
        assert len(list(NormalFeedParser(source()))) == 2
        assert not gc.isenabled()  # a collector the caller switched off stays off
    finally:
        gc.enable()


# -- longpoll heartbeats (opt-in) ------------------------------------------------------


def longpoll_body(rows: list[dict[str, Any]], beats: int) -> bytes:
    """CouchDB's layout: ``{"results":[`` and its newline, ``beats`` blank lines
    while it waits, then the rows one a line and the tail."""
    head = b'{"results":[\n' + b"\n" * beats
    body = b"".join(json.dumps(r).encode() + b",\n" for r in rows).removesuffix(b",\n")
    return head + body + (b"\n" if rows else b"") + b'],\n"last_seq":"last","pending":0}\n'


@settings(max_examples=150, deadline=None)
@given(rows=rows_strategy, sizes=chunk_sizes, raw=st.booleans(), beats=st.integers(0, 4))
def test_normal_heartbeats_flag_yields_one_sentinel_per_blank_line(
    rows: list[dict[str, Any]], sizes: list[int], raw: bool, beats: int
) -> None:
    body = longpoll_body(rows, beats)
    parser = NormalFeedParser(chunked(body, sizes), raw=raw, heartbeats=True)
    got = [r if r is HEARTBEAT or not raw else json.loads(r) for r in parser]
    assert got == [HEARTBEAT] * beats + rows
    assert parser.last_seq == "last" and parser.pending == 0 and parser.finished
    # Without the flag (the default) the same body's blank lines are skipped.
    plain = NormalFeedParser(chunked(body, sizes), raw=raw)
    assert [r if not raw else json.loads(r) for r in plain] == rows


def test_normal_heartbeats_between_rows_and_before_the_body() -> None:
    # A blank first line counts (python-cloudant's empty line); the newline
    # ending a token's line does not; blanks with spaces count.
    body = b'\n{"results":[\n \n{"seq":1,"id":"a"},\n\n{"seq":2,"id":"b"}\n\n],"last_seq":2}'
    got = list(NormalFeedParser(chunked(body, [3]), heartbeats=True))
    assert got == [HEARTBEAT, HEARTBEAT, {"seq": 1, "id": "a"}, HEARTBEAT, {"seq": 2, "id": "b"}]


def test_normal_heartbeat_is_yielded_as_it_arrives() -> None:
    requested: list[int] = []

    def source() -> Iterator[bytes]:
        yield b'{"results":[\n'
        for i in range(3):
            requested.append(i)
            yield b"\n"
        yield b'{"seq":1,"id":"a"}\n],\n"last_seq":1,"pending":0}\n'

    it = iter(NormalFeedParser(source(), heartbeats=True))
    for i in range(3):
        assert next(it) is HEARTBEAT
        assert requested[-1] == i  # not read ahead: a waiting longpoll hands each one out
    assert list(it) == [{"seq": 1, "id": "a"}]
