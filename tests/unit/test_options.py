"""One transport options object, the same options accepted (and refused) on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from urllib3.util.retry import Retry

import settee
from settee.http import Transport, TransportOptions
from settee.http.retry import RetryPolicy
from settee.rest.client import Client as RestClient
from settee.rest.client import CrudClient


@pytest.fixture(params=["memory", "sqlite", "http"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory:"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'o.db'}"
    else:
        server = request.getfixturevalue("pouchdb_server")
        yield server.url


GOOD: dict[str, Any] = {
    "timeout": (2, 5),
    "feed_timeout": 3,
    "max_retries": 1,
    "backoff_factor": 0,
    "backoff_max": 1,
    "retry_status_codes": (503,),
    "retry_post": True,
    "verify": False,
    "headers": {"X-Test": "1"},
    "pool_maxsize": 2,
}


def test_every_backend_accepts_every_transport_option(url: str, request: Any) -> None:
    auth = None
    if url.startswith("http"):
        auth = request.getfixturevalue("pouchdb_server").auth
    with settee.connect(url, auth=auth, **GOOD) as client:
        assert isinstance(client.all_dbs(), list)


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("max_retries", -1, ValueError),
        ("max_retries", True, TypeError),
        ("backoff_max", "1", TypeError),
        ("backoff_factor", float("nan"), ValueError),
        ("retry_status_codes", (200,), ValueError),
        ("timeout", 0, ValueError),
        ("headers", {"X": 1}, TypeError),
    ],
)
def test_a_bad_value_is_refused_the_same_way_everywhere(
    url: str, option: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match=option):
        settee.connect(url, **{option: value})


def test_an_unknown_option_names_itself_on_every_backend(url: str) -> None:
    with pytest.raises(TypeError, match="'limt'"):
        settee.connect(url, limt=3)


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("retries", "max_retries"),
        ("replay_post", "retry_post"),
        ("verify_ssl", "verify"),
        ("default_headers", "headers"),
    ],
)
def test_a_second_spelling_names_the_right_one(url: str, wrong: str, right: str) -> None:
    with pytest.raises(TypeError, match=f"'{wrong}'.*'{right}'"):
        settee.connect(url, **{wrong: 1})


def test_options_are_validated_once_and_normalised() -> None:
    opts = TransportOptions(timeout=5, retry_status_codes=[503, 429], headers={"A": "b"})
    assert opts.timeout == (5.0, 5.0)
    assert opts.retry_status_codes == (503, 429)
    with pytest.raises(AttributeError):
        opts.timeout = None  # type: ignore[misc]
    transport = Transport("http://h", options=opts)
    assert transport.options is opts and transport.session.headers["A"] == "b"
    with pytest.raises(TypeError, match="not both"):
        Transport("http://h", options=opts, max_retries=1)


def test_max_retries_may_be_a_urllib3_retry() -> None:
    given = Retry(total=7, backoff_factor=0.1, status_forcelist=(500,))
    transport = Transport("http://h", max_retries=given, retry_post=True)
    assert isinstance(transport.retry, RetryPolicy)
    assert transport.retry.total == 7 and transport.retry.status_forcelist == (500,)
    assert transport.retry.retry_post  # settee's replay rules still apply
    assert not RetryPolicy.from_options(TransportOptions()).replayable("POST", "http://h/db")


def test_retry_policy_refuses_the_old_spelling() -> None:
    with pytest.raises(TypeError, match="retry_post"):
        RetryPolicy(total=1, replay_post=True)


def test_rest_clients_keep_their_seeds_spellings() -> None:
    with pytest.raises(TypeError, match=r"'verify_ssl'.*'verify'"):
        RestClient("http://h", verify_ssl=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"'retries'.*'max_retries'"):
        RestClient("http://h", retries=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"'verify'.*'verify_ssl'"):
        CrudClient("http://h", verify=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"'max_retries'.*'retries'"):
        CrudClient("http://h", max_retries=1)  # type: ignore[call-arg]
    crud = CrudClient("http://h", retries=2, verify_ssl=False, default_headers={"A": "b"})
    assert crud.client.transport.retry.total == 2
    assert crud.client.transport.session.verify is False


def test_a_write_is_encoded_once_and_strictly() -> None:
    assert (
        Transport.dumps({"é": [1, "x"]})
        == json.dumps({"é": [1, "x"]}, ensure_ascii=False, separators=(",", ":")).encode()
    )
    for bad in ({"x": float("nan")}, {"x": "\ud800"}, {"x": object()}):
        with pytest.raises(TypeError):
            Transport.dumps(bad)
