"""Integers beyond 64 bits arrive exact on every feed-parsing path (issue 8, item 6).

ijson's C backend stops at 64 bits ("integer overflow") and orjson turns such
an integer into a float without a word. The pure parsers are fed byte chunks
here; the same over PouchDB Server is in tests/http/test_feed_positions.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from settee.errors import FeedError
from settee.feeds import base as _feedbase
from settee.feeds.normal import IntegerOverflow, NormalFeedParser
from settee.feeds.stream import ContinuousFeedParser

BIG = 123456789012345678901234567890
NEG = -(2**64) - 1


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


def body(rows: list[dict[str, Any]], last_seq: Any) -> bytes:
    return json.dumps({"results": rows, "last_seq": last_seq, "pending": 0}).encode()


def big_doc_rows(seqs: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, seq in enumerate(seqs):
        doc: dict[str, Any] = {"_id": f"d{i}", "n": i}
        if i == len(seqs) - 1:
            doc.update(n=BIG, m=NEG)
        out.append({"seq": seq, "id": f"d{i}", "changes": [{"rev": "1-a"}], "doc": doc})
    return out


TEXT = json.dumps({"n": BIG, "m": NEG})


@pytest.mark.parametrize("data", [TEXT.encode(), TEXT])
def test_loads_is_exact(data: bytes | str) -> None:
    value = _feedbase.loads(data)
    assert value == {"n": BIG, "m": NEG}
    assert type(value["n"]) is int and type(value["m"]) is int


def test_loads_keeps_ordinary_numbers() -> None:
    value = _feedbase.loads(b'{"i": 9223372036854775807, "f": 2.5, "s": "12345678901234567890123"}')
    assert value == {"i": 2**63 - 1, "f": 2.5, "s": "12345678901234567890123"}


def test_continuous_lines_are_exact() -> None:
    line = json.dumps({"seq": 1, "id": "a", "doc": {"n": BIG}})
    data = (line + "\n" + json.dumps({"last_seq": 1}) + "\n").encode()
    for raw in (False, True):
        parser = ContinuousFeedParser(chunks(data, 7), raw=raw)
        (row,) = list(parser)
        value = json.loads(row) if raw else row
        assert value["doc"]["n"] == BIG and type(value["doc"]["n"]) is int


@pytest.mark.parametrize("size", [7, 64, 100000])
def test_an_overflow_before_any_real_seq_is_read_again_in_place(size: int) -> None:
    # The longpoll since="now" case: the first row holds the big integer, so no
    # seq exists yet to ask again from. The body is read again exactly from its
    # start (kept while no real seq has been handed out), nothing is re-requested.
    rows = big_doc_rows([5])
    parser = NormalFeedParser(chunks(body(rows, 5), size))
    assert list(parser) == rows
    assert parser.last_seq == 5 and parser.pending == 0
    assert type(rows[0]["doc"]["n"]) is int


def test_an_overflow_after_null_seqs_is_read_again_in_place_without_repeats() -> None:
    rows = big_doc_rows([None, None, None])
    parser = NormalFeedParser(chunks(body(rows, "3-x"), 16))
    got = list(parser)
    assert got == rows and parser.last_seq == "3-x"


def test_an_overflow_after_a_real_seq_says_where_to_ask_again() -> None:
    rows = big_doc_rows(["1-a", None, None])
    parser = NormalFeedParser(chunks(body(rows, "3-x"), 16))
    got: list[Any] = []
    with pytest.raises(IntegerOverflow) as info:
        got.extend(parser)
    assert info.value.last_seq == "1-a"
    assert info.value.handed_out == len(got)
    # The rows already handed out after the last real seq, to skip in the re-read.
    assert len(info.value.skip) == len(got) - 1
    again = body(rows[1:], "3-x")
    exact = NormalFeedParser(chunks(again, 16), exact=True, skip=info.value.skip)
    assert got + list(exact) == rows


def test_the_kept_bytes_are_bounded() -> None:
    rows = big_doc_rows([None] * 50)
    parser = NormalFeedParser(chunks(body(rows, "50-x"), 64), retain_bytes=256)
    with pytest.raises(IntegerOverflow) as info:
        list(parser)
    assert info.value.last_seq is None and info.value.handed_out == 49
    assert len(info.value.skip) == 49


def test_a_body_that_cannot_be_asked_again_is_kept_whole() -> None:
    # descending feeds cannot resume with since=: keep the body (bounded) instead.
    rows = big_doc_rows([3, 2, 1])
    parser = NormalFeedParser(chunks(body(rows, 0), 16), resumable=False)
    assert list(parser) == rows


def test_malformed_after_an_overflow_is_still_a_feed_error() -> None:
    rows = big_doc_rows([None])
    data = body(rows, 1)[:-8]
    with pytest.raises(FeedError) as info:
        list(NormalFeedParser(chunks(data, 16)))
    assert not isinstance(info.value, IntegerOverflow)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234567890123456789", True),  # 19 digits: past int64
        ("x123456789012345678y", False),  # 18 digits
        ('{"a": 12345678901234567, "b": 12}', False),
        ('{"s": "é1234567890123456789"}', True),  # non-ASCII before the run
        ("\ud8001234567890123456789", True),  # a lone surrogate still encodes
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩", False),  # non-ASCII digits are not JSON numbers
        ("", False),
    ],
)
def test_long_digit_runs_are_found_in_text_and_bytes(text: str, expected: bool) -> None:
    assert _feedbase._has_long_digit_run(text) is expected
    if "\ud800" not in text:
        assert _feedbase._has_long_digit_run(text.encode()) is expected
