"""The storages' one-read paths (issue 11): a record with its winner's body, the
(id, winner) listing, and the one-statement document read, on memory and SQLite alike.

Each agrees with the general reads (``load_docs`` + ``load_bodies``, ``scan_ids``)
on live, deleted, conflicted and missing documents. And the memory store's merges of
sorted batches (json index rows, ids) give what a full sort gives.
"""

from __future__ import annotations

import bisect
import gc
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from settee.backends._local.sqlstore import SQLiteStorage
from settee.backends._local.state import EngineState
from settee.backends._local.storage import (
    _CHUNK,
    MemoryStorage,
    Storage,
    _Column,
    _merged,
    _Sorted,
    _without,
)
from settee.backends._local.writes import bulk_docs

DB = "db"


@pytest.fixture(params=["memory", "sqlite"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineState]:
    storage: Storage = (
        MemoryStorage() if request.param == "memory" else SQLiteStorage(str(tmp_path / "s.db"))
    )
    with storage.write() as txn:
        txn.create_db(DB, False)
    yield EngineState(storage)
    storage.close()


def _fill(state: EngineState) -> dict[str, str]:
    revs: dict[str, str] = {}
    for result in bulk_docs(state, DB, [{"_id": f"d{i}", "n": i} for i in range(6)]):
        revs[result["id"]] = result["rev"]
    # d1 deleted; d2 in conflict (a replicated branch); d3 updated twice.
    bulk_docs(state, DB, [{"_id": "d1", "_rev": revs["d1"], "_deleted": True}])
    bulk_docs(
        state,
        DB,
        [{"_id": "d2", "_rev": "2-" + "f" * 32, "n": "branch", "_revisions": {
            "start": 2, "ids": ["f" * 32, revs["d2"].split("-")[1]]}}],
        new_edits=False,
    )  # fmt: skip
    rev = bulk_docs(state, DB, [{"_id": "d3", "_rev": revs["d3"], "n": 30}])[0]["rev"]
    bulk_docs(state, DB, [{"_id": "d3", "_rev": rev, "n": 31}])
    return revs


def test_load_winners_agrees_with_load_docs_and_load_bodies(state: EngineState) -> None:
    _fill(state)
    ids = ["d0", "d1", "d2", "d3", "d5", "nope"]
    with state.storage.read() as txn:
        meta = txn.get_db(DB)
        assert meta is not None
        winners = txn.load_winners(meta, ids)
        infos = txn.load_docs(meta, ids)
        bodies = txn.load_bodies(meta, [(i.id, i.winner) for i in infos.values()])
    assert set(winners) == set(infos) == {"d0", "d1", "d2", "d3", "d5"}
    for docid, (info, text) in winners.items():
        assert info == infos[docid]
        assert text == bodies.get((docid, info.winner))
    assert winners["d1"][0].deleted
    assert json.loads(winners["d2"][1] or "")["n"] == "branch"  # the conflict's winner
    assert json.loads(winners["d3"][1] or "")["n"] == 31


def test_scan_winners_agrees_with_scan_ids(state: EngineState) -> None:
    _fill(state)
    bounds = [(None, True, None, True), ("d1", True, "d4", False), ("d1", False, "d3", True)]
    with state.storage.read() as txn:
        meta = txn.get_db(DB)
        assert meta is not None
        for lo, lo_incl, hi, hi_incl in bounds:
            for descending in (False, True):
                for limit in (1, 2, 100):
                    pairs = txn.scan_winners(
                        meta, lo, lo_incl, hi, hi_incl, descending=descending, limit=limit
                    )
                    infos = txn.scan_ids(
                        meta, lo, lo_incl, hi, hi_incl, descending=descending, limit=limit,
                        include_deleted=False,
                    )  # fmt: skip
                    assert pairs == [(i.id, i.winner) for i in infos]
                    assert "d1" not in [docid for docid, _ in pairs]


def test_read_winner_is_the_record_and_body_or_none(state: EngineState) -> None:
    _fill(state)
    found = state.storage.read_winner(DB, "d3")
    assert found is not None
    info, text = found
    assert info.id == "d3" and info.winner.startswith("3-") and not info.deleted
    assert json.loads(text or "") == {"n": 31}
    deleted = state.storage.read_winner(DB, "d1")
    assert deleted is not None and deleted[0].deleted
    assert state.storage.read_winner(DB, "nope") is None
    assert state.storage.read_winner("no_such_db", "d0") is None


def test_memory_sorted_merges_equal_a_full_sort() -> None:
    rng = random.Random(7)
    for size, extra in ((0, 70), (200, 70), (5000, 300), (300, 5000)):
        items = sorted(
            {(bytes([rng.randrange(256)]) * 3, f"d{rng.randrange(10**6)}") for _ in range(size)}
        )
        new = sorted(
            {(bytes([rng.randrange(256)]) * 3, f"n{rng.randrange(10**6)}") for _ in range(extra)}
        )
        assert _merged(list(items), list(new)) == sorted(items + new)
        doomed = sorted(rng.sample(items, len(items) // 3) + new[:5])  # some not present
        assert _without(list(items), doomed) == [i for i in items if i not in set(doomed)]
    assert _merged([("a", "1")], [("b", "2")]) == [("a", "1"), ("b", "2")]  # appended at the end


def test_memory_sorted_chunks_act_as_a_sorted_list() -> None:
    rng = random.Random(11)
    chunks, plain = _Sorted(), []
    # Batches big and small, appended at the end and merged in the middle, then removals.
    for round_ in range(60):
        size = rng.choice((1, 5, 70, 3 * _CHUNK))
        if round_ % 3 == 0:
            top = plain[-1] if plain else 0
            new = sorted({top + 1 + rng.randrange(10**6) for _ in range(size)})
        else:
            new = sorted({rng.randrange(10**7) for _ in range(size)} - set(plain))
        chunks.add(new)
        plain = sorted(plain + new)
        if round_ % 4 == 3:
            doomed = sorted(set(rng.sample(plain, min(len(plain), size))) | {-1})
            assert chunks.discard(doomed) == len(doomed) - 1  # -1 was never there
            plain = [x for x in plain if x not in set(doomed)]
        assert len(chunks) == len(plain) and list(chunks) == plain
        for probe in [rng.randrange(10**7) for _ in range(20)] + plain[:1] + plain[-1:]:
            assert chunks.bisect_left(probe) == bisect.bisect_left(plain, probe)
            assert chunks.bisect_right(probe) == bisect.bisect_right(plain, probe)
        start = rng.randrange(len(plain) + 1)
        end = rng.randrange(start, len(plain) + 2)
        assert list(chunks.items(start, end)) == plain[start:end]
        assert list(chunks.items(start, end, descending=True)) == plain[start:end][::-1]
    picked = sorted(rng.sample(plain, 300))
    chunks.replace([-x for x in picked], abs)  # items of the same key (here: same abs)
    flipped = set(picked)
    assert list(chunks) == [-x if x in flipped else x for x in plain]
    chunks.replace(picked, abs)
    chunks.keep(lambda x: x % 2 == 0)
    assert list(chunks) == [x for x in plain if x % 2 == 0]
    gc.collect()  # the collector stops tracking tuples of untracked items when it sees them
    assert not any(gc.is_tracked(chunk) for chunk in chunks._chunks)


def test_memory_column_acts_as_a_list() -> None:
    rng = random.Random(3)
    column, plain = _Column(), []
    for _ in range(5 * _CHUNK + 17):
        value = f"d{rng.randrange(100)}"
        column.append(value)
        plain.append(value)
        if rng.random() < 0.2:
            changes = {rng.randrange(len(plain)): None for _ in range(3)}
            column.replace(changes)
            for index in changes:
                plain[index] = None
    assert len(column) == len(plain)
    assert [column[i] for i in range(len(plain))] == plain
    for start in (0, 1, _CHUNK - 1, _CHUNK, 3 * _CHUNK + 5, len(plain) - 1, len(plain)):
        assert list(column.items(start, len(plain))) == plain[start:]
        assert list(column.items(start, start + 100)) == plain[start : start + 100]
        assert column.count(None, start) == plain[start:].count(None)
    assert list(_Column(plain).items(0, len(plain))) == plain
