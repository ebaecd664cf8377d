"""Client semantics on every backend: the dict of database handles and the server verbs."""

from __future__ import annotations

import logging
import re

import pytest

import settee
from tests.conftest import unique_name


def test_create_database_returns_cached_handle(client: settee.Client) -> None:
    name = unique_name("cl")
    db = client.create_database(name)
    try:
        assert isinstance(db, settee.Database)
        assert db.database_name == name
        assert db.client is client
        assert client[name] is db  # served from the cache
        assert name in client
        assert name in client.keys(remote=False)
        assert name in client.keys(remote=True)
        assert name in client.all_dbs()
        assert db.exists()
    finally:
        client.delete_database(name)


def test_getitem_fetches_on_miss_and_raises_keyerror_when_absent(client: settee.Client) -> None:
    name = unique_name("cl")
    client.create_database(name)
    try:
        client.clear_cache()
        assert client.keys() == []
        db = client[name]  # fetched
        assert db.database_name == name
        assert client.keys() == [name]
    finally:
        client.delete_database(name)
    missing = unique_name("missing")
    with pytest.raises(KeyError):
        client[missing]
    assert missing not in client
    assert client.get(missing) is None
    assert client.get(missing, "dflt", remote=True) == "dflt"


def test_get_without_remote_reads_only_the_cache(client: settee.Client) -> None:
    name = unique_name("cl")
    client.create_database(name)
    try:
        client.clear_cache()
        assert client.get(name) is None  # not cached, no request made
        fetched = client.get(name, remote=True)
        assert isinstance(fetched, settee.Database)
        assert client.get(name) is fetched
    finally:
        client.delete_database(name)


def test_create_existing_returns_handle_or_raises(client: settee.Client) -> None:
    name = unique_name("cl")
    first = client.create_database(name)
    try:
        again = client.create_database(name)
        assert again.database_name == name
        with pytest.raises(settee.PreconditionFailed):
            client.create_database(name, throw_on_exists=True)
        assert first.exists()
    finally:
        client.delete_database(name)


def test_delete_database_evicts_and_missing_raises(client: settee.Client) -> None:
    name = unique_name("cl")
    client.create_database(name)
    client.delete_database(name)
    assert client.get(name) is None
    assert name not in client
    assert name not in client.all_dbs()
    with pytest.raises(settee.NotFound):
        client.delete_database(name)


def test_delitem_and_setitem_follow_remote_flag(client: settee.Client) -> None:
    name = unique_name("cl")
    handle = client.database_class(client, name)
    client[name] = handle  # cache only: nothing created
    assert client.get(name) is handle
    assert not handle.exists()
    del client[name]
    assert client.get(name) is None
    with pytest.raises(KeyError):
        del client[name]
    client.__setitem__(name, handle, remote=True)  # creates it
    assert handle.exists()
    client.__delitem__(name, remote=True)  # deletes it on the server
    assert not handle.exists()
    assert client.get(name) is None


def test_setitem_rejects_non_database_values(client: settee.Client) -> None:
    name = unique_name("cl")
    with pytest.raises(TypeError):
        client[name] = {"not": "a database"}  # type: ignore[assignment]
    other = client.database_class(client, unique_name("cl"))
    with pytest.raises(ValueError):
        client[name] = other


def test_iteration_and_len_cover_cached_handles(client: settee.Client) -> None:
    names = [unique_name("cl") for _ in range(3)]
    for name in names:
        client.create_database(name)
    try:
        assert sorted(client) == sorted(names)
        assert len(client) == 3
        client.clear_cache()
        assert len(client) == 0 and list(client) == []
        assert bool(client)
    finally:
        for name in names:
            client.delete_database(name)


@pytest.mark.parametrize(
    "bad", ["Upper", "1abc", "a b", "a.b", "", "_private", "a" * 239, "é", "a?b", "a#b"]
)
def test_invalid_database_names_fail_before_any_request(client: settee.Client, bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape("^[a-z][a-z0-9_$()+/-]*$")):
        client.create_database(bad)
    with pytest.raises(ValueError):
        client[bad]
    with pytest.raises(ValueError):
        client.delete_database(bad)
    assert bad not in client
    with pytest.raises(ValueError):
        settee.Database(client, bad)


def test_database_name_with_allowed_specials_round_trips(client: settee.Client) -> None:
    name = unique_name("a$b(c)+d-e/f")
    db = client.create_database(name)
    try:
        client.clear_cache()
        assert client[name].database_name == name
        doc = db.create_document({"_id": "x", "v": 1})
        assert client[name]["x"]["v"] == 1
        assert doc["_rev"].startswith("1-")
    finally:
        client.delete_database(name)


def test_non_str_names_raise_typeerror(client: settee.Client) -> None:
    with pytest.raises(TypeError):
        client.create_database(5)  # type: ignore[arg-type]
    assert 5 not in client


def test_metadata_uuids_features(client: settee.Client) -> None:
    info = client.metadata()
    assert isinstance(info, dict) and "version" in info
    uuids = client.uuids(3)
    assert len(set(uuids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", u) for u in uuids)
    assert isinstance(client.features(), list)
    with pytest.raises(ValueError):
        client.uuids(0)


def test_client_url_and_repr(client: settee.Client) -> None:
    assert client.url == client.backend.url
    assert client.url in repr(client)
    assert client.server_url == client.url


def test_bounded_cache_evicts_oldest_handle(client: settee.Client) -> None:
    small = settee.Client(backend=client.backend, cache_size=2)
    names = [unique_name("cl") for _ in range(3)]
    for name in names:
        small.create_database(name)
    try:
        assert len(small) == 2
        assert small.get(names[0]) is None  # evicted
        assert small[names[0]].database_name == names[0]  # fetched again
    finally:
        for name in names:
            small.delete_database(name)


def _requests_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if " -> " in r.getMessage()]


def test_a_missing_capability_is_refused_before_any_request(
    client: settee.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Partitioned create and _db_updates: NotSupported naming backend and capability."""
    caps = client.backend.capabilities  # the HTTP backend's one probe, GET /, made first
    caplog.set_level(logging.DEBUG, logger="settee")
    calls = {
        "partitions": [lambda: client.create_database(name, partitioned=True)],
        "db_updates": [client.db_updates, client.infinite_db_updates],
    }
    name = unique_name("nopart")
    missing = [c for c in calls if c not in caps]
    if not missing:
        pytest.skip(f"{client.backend.kind} backend has every capability checked here")
    for capability in missing:
        for call in calls[capability]:
            caplog.clear()
            with pytest.raises(settee.NotSupported) as info:
                call()
            assert repr(capability) in str(info.value)
            assert client.backend.kind in str(info.value)
            assert client.backend.url in str(info.value)
            assert _requests_logged(caplog) == []
    assert name not in client.all_dbs()
