"""The conformance core over settee.aio, on every backend (memory, sqlite, PouchDB Server,
CouchDB when configured): the same semantics as the sync suite, awaited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import settee
import settee.aio
from settee import R
from settee.feeds.checkpoints import MemoryCheckpoint

pytestmark = pytest.mark.anyio

AsyncDatabase = settee.aio.AsyncDatabase


async def test_connect_both_ways(aio_url: tuple[str, Any]) -> None:
    url, auth = aio_url
    client = await settee.aio.connect(url, auth=auth)
    try:
        assert isinstance(await client.all_dbs(), list)
        assert "version" in await client.metadata()
        assert len(await client.uuids(3)) == 3
    finally:
        await client.aclose()


async def test_databases_like_the_sync_client(aclient: settee.aio.AsyncClient) -> None:
    name = f"aio-dbs-{id(aclient)}"
    db = await aclient.create_database(name)
    assert await aclient.get(name) is db  # the cached handle
    assert name in await aclient.all_dbs()
    again = await aclient.create_database(name)  # exists: its handle
    assert again.database_name == name
    with pytest.raises(settee.PreconditionFailed):
        await aclient.create_database(name, throw_on_exists=True)
    await aclient.delete_database(name)
    assert await aclient.get(name) is None
    assert await aclient.get(name, remote=True) is None
    with pytest.raises(settee.NotFound):
        await aclient.delete_database(name)
    with pytest.raises(ValueError):
        await aclient.create_database("Bad Name")


async def test_documents(adb: AsyncDatabase) -> None:
    doc = await adb.create_document({"_id": "o1", "total": 12})
    assert doc["_rev"].startswith("1-")
    assert await adb.get("missing", remote=True) is None
    fetched = await adb.get("o1", remote=True)
    assert fetched is not None and fetched["total"] == 12
    stale = dict(fetched)
    fetched["total"] = 13
    await fetched.save()
    assert fetched["_rev"].startswith("2-")
    with pytest.raises(settee.Conflict):
        await adb.put_doc(stale)
    with pytest.raises(settee.Conflict):
        await adb.create_document({"_id": "o1"}, throw_on_exists=True)
    with pytest.raises(settee.Conflict):  # as the sync API: never the stored one instead
        await adb.create_document({"_id": "o1", "total": 0})
    assert (await adb.get_doc("o1"))["total"] == 13
    with pytest.raises(TypeError, match="must be a dict"):
        await adb.create_document([("_id", "o9")])  # type: ignore[arg-type]
    assert await adb.contains("o1") and not await adb.contains("nope")
    await fetched.delete()
    assert await adb.get("o1", remote=True) is None
    with pytest.raises(settee.DocumentNotFound):
        await adb.get_doc("o1")
    with pytest.raises(TypeError):
        await adb.create_document({"_id": "x", "bad": object()})


async def test_document_with_block(adb: AsyncDatabase) -> None:
    async with adb.document("w") as doc:
        doc["n"] = 1  # a new document: created on exit
    async with adb.document("w") as doc:
        assert doc["n"] == 1
        doc["n"] += 1
    stored = await adb.get_doc("w")
    assert stored["n"] == 2
    with pytest.raises(RuntimeError):
        async with adb.document("w") as doc:
            doc["n"] = 99
            raise RuntimeError("not saved")
    assert (await adb.get_doc("w"))["n"] == 2


async def test_bulk_reports_each_document(adb: AsyncDatabase) -> None:
    results = await adb.bulk_docs([{"_id": f"b{i}", "n": i} for i in range(30)], chunk_size=7)
    assert [r["id"] for r in results] == [f"b{i}" for i in range(30)]
    assert all(r.get("ok") for r in results)
    again = await adb.bulk_docs([{"_id": "b1", "n": 0}, {"_id": "new"}])
    assert again[0]["error"] == "conflict" and again[1]["ok"]
    with pytest.raises(ValueError):
        await adb.bulk_docs([{"_id": "_reserved"}])


async def test_all_docs_pages_by_key(adb: AsyncDatabase) -> None:
    await adb.bulk_docs([{"_id": f"k{i:03d}", "n": i} for i in range(95)])
    result = adb.all_docs(include_docs=True, page_size=10)
    ids = []
    async for row in result:
        ids.append(row["id"])
        assert row["doc"]["_id"] == row["id"]
    assert ids == sorted(ids) and len(ids) == 95
    assert result.requests == 10  # 9 full pages + the last, each asking one row more
    pages = [len(page) async for page in adb.all_docs(page_size=40).pages()]
    assert pages == [40, 40, 15]
    first = await adb.all_docs(startkey="k050").first()
    assert first is not None and first["id"] == "k050"
    descending = await adb.all_docs(descending=True, limit=3, page_size=2).all()
    assert [r["id"] for r in descending] == ["k094", "k093", "k092"]
    keyed = await adb.all_docs(keys=["k001", "k002", "zzz"]).all()
    assert [r.get("id") for r in keyed][:2] == ["k001", "k002"]
    assert [r["id"] async for r in adb.all_docs(page_size=1000)][:1] == ["k000"]
    assert len(await adb.keys(remote=True)) == 95
    assert len([doc async for doc in adb]) == 95
    with pytest.raises(TypeError):
        adb.all_docs(no_such_option=1)


async def test_find_pages_by_bookmark_and_rql(adb: AsyncDatabase) -> None:
    await adb.bulk_docs([{"_id": f"f{i:03d}", "num": i, "even": i % 2 == 0} for i in range(60)])
    found = [doc["_id"] async for doc in adb.find({"num": {"$gte": 10}}, page_size=7)]
    assert sorted(found) == [f"f{i:03d}" for i in range(10, 60)]
    assert await adb.get_query_result({"num": 3}).first() is not None
    evens = adb.filter(R().even.eq(True) & R().num.lt(20))
    assert sorted([d["num"] async for d in evens]) == list(range(0, 20, 2))
    assert await evens.count() == 10
    assert await evens.exists()
    assert await adb.filter("eq(num,4)").all() != []
    assert await adb.filter(num=1000).first() is None
    await adb.create_query_index(fields=["num"])
    ordered = adb.filter(R().num.ge(55)).order_by("-num").select("num")
    assert [d["num"] async for d in ordered] == [59, 58, 57, 56, 55]
    assert any("num" in str(ix.get("def")) for ix in await adb.get_query_indexes())


async def test_changes_normal_continuous_and_infinite(adb: AsyncDatabase) -> None:
    await adb.bulk_docs([{"_id": f"c{i}"} for i in range(5)])
    feed = adb.changes()
    rows = [row async for row in feed]
    assert sorted(r["id"] for r in rows) == [f"c{i}" for i in range(5)]
    assert feed.last_seq is not None
    continuous = adb.changes(feed="continuous", since=0, heartbeat=1000)
    seen = []
    async for row in continuous:
        seen.append(row["id"])
        if len(seen) == 5:
            continuous.stop()
    assert sorted(seen) == [f"c{i}" for i in range(5)]
    checkpoint = MemoryCheckpoint()
    follower = adb.infinite_changes(since=0, checkpoint=checkpoint)
    got: list[str] = []

    async def write_later() -> None:
        await asyncio.sleep(0.2)
        await adb.create_document({"_id": "late"})

    writer = asyncio.create_task(write_later())
    async for row in follower:
        got.append(row["id"])
        if row["id"] == "late":
            follower.stop()
    await writer
    assert set(got) == {f"c{i}" for i in range(5)} | {"late"}
    assert checkpoint.load() is not None
    raw = [row async for row in adb.changes(raw_data=True)]
    assert all(isinstance(r, str) for r in raw) and len(raw) == 6


async def test_attachments_stream(adb: AsyncDatabase) -> None:
    doc = await adb.create_document({"_id": "att"})
    payload = bytes(range(256)) * 400  # 100 kB
    await doc.put_attachment("blob.bin", "application/octet-stream", payload)
    await doc.put_attachment("note.txt", "text/plain", "héllo")
    assert await doc.get_attachment("note.txt") == "héllo"
    streamed = b"".join([chunk async for chunk in doc.attachment_chunks("blob.bin")])
    assert streamed == payload
    await doc.delete_attachment("note.txt")
    with pytest.raises(settee.NotFound):
        await doc.get_attachment("note.txt")
    await doc.save()  # the stub keeps blob.bin
    assert await doc.get_attachment("blob.bin") == payload


async def test_views(adb: AsyncDatabase, aio_kind: str) -> None:
    await adb.bulk_docs([{"_id": f"v{i}", "n": i % 3} for i in range(9)])
    if aio_kind in ("memory", "sqlite"):
        rows = await adb.view(lambda doc: [(doc["n"], 1)], reduce="_count", group=True).all()
        assert [(r["key"], r["value"]) for r in rows] == [(0, 3), (1, 3), (2, 3)]
        return
    await adb.create_document(
        {"_id": "_design/d", "views": {"by_n": {"map": "function(d){ emit(d.n, 1); }"}}}
    )
    rows = await adb.get_view_result("_design/d", "by_n", key=1, page_size=2).all()
    assert sorted(r["id"] for r in rows) == ["v1", "v4", "v7"]
    with pytest.raises(settee.NotSupported):
        await adb.view(lambda doc: [(1, 1)]).all()


async def test_partitions(aclient: settee.aio.AsyncClient) -> None:
    if "partitions" not in await aclient.backend.capabilities():
        pytest.skip(f"{aclient.backend.kind} backend lacks partitions")
    db = await aclient.create_database(f"aio-part-{id(aclient)}", partitioned=True)
    try:
        await db.bulk_docs([{"_id": f"p{i % 2}:d{i}", "n": i} for i in range(6)])
        part = db.partition("p0")
        assert sorted([r["id"] async for r in part.all_docs()]) == ["p0:d0", "p0:d2", "p0:d4"]
        assert len(await part.find({"n": {"$gte": 0}}).all()) == 3
        assert (await part.metadata())["doc_count"] == 3
    finally:
        await aclient.delete_database(db.database_name)


async def test_the_rest_runs_the_sync_core(adb: AsyncDatabase) -> None:
    doc = await adb.create_document({"_id": "r"})
    assert await adb.missing_revisions("r", doc["_rev"], "9-zzz") == ["9-zzz"]
    security = await adb.get_security_document()
    assert isinstance(security, dict)
    assert await adb.list_design_documents() == []
