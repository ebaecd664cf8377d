"""REST ids and action names are one path segment, a prefix included (issue 8, item 1).

Against the django-rql service. REST ids never keep a ``_design/``/``_local/``
prefix: ``products["_design/admin"]`` must request ``/products/_design%2Fadmin``,
not ``/products/_design/admin``. The service runs on wsgiref, which decodes
``%2F`` before Django routes, so its answer cannot tell the two apart; the
tests read the request line settee sent from its request log (the
``logger=`` option) and from the error's URL, and check that real resources
and actions are still reached.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from settee.errors import NotFound
from settee.rest.client import Client
from tests.rest.conftest import RqlService


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged(rql_service: RqlService) -> Iterator[tuple[Client, Lines]]:
    handler = Lines()
    log = logging.getLogger(f"test.rest.ids.{uuid.uuid4().hex}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    with rql_service.client(logger=log) as client:
        yield client, handler


def sent_path(lines: Lines) -> str:
    """The path of the last request line (``GET http://host/path -> 404 (...)``)."""
    return urlsplit(lines.lines[-1].split(" ")[1]).path


@pytest.mark.parametrize(
    ("rid", "encoded"),
    [
        ("_design/admin", "_design%2Fadmin"),
        ("_local/secret", "_local%2Fsecret"),
        ("a/../b", "a%2F..%2Fb"),
        ("..", "%2E%2E"),
    ],
)
def test_ids_with_slashes_are_one_segment(
    logged: tuple[Client, Lines], rid: str, encoded: str
) -> None:
    client, lines = logged
    with pytest.raises(NotFound) as caught:
        client.products[rid].get()
    assert sent_path(lines) == f"/public/v1/products/{encoded}"
    assert caught.value.url is not None and caught.value.url.endswith(f"/products/{encoded}")


def test_action_on_a_prefixed_id_is_one_segment_each(logged: tuple[Client, Lines]) -> None:
    client, lines = logged
    with pytest.raises(NotFound):
        client.collection("users")["_local/secret"].action("approve").post({})
    assert sent_path(lines) == "/public/v1/users/_local%2Fsecret/approve"
    with pytest.raises(NotFound):
        client.products["PRD-000001"].action("end/sale").get()
    assert sent_path(lines) == "/public/v1/products/PRD-000001/end%2Fsale"


def test_real_resources_and_actions_are_still_reached(logged: tuple[Client, Lines]) -> None:
    client, lines = logged
    product = client.products["PRD-000001"].get()
    assert product["id"] == "PRD-000001"
    assert sent_path(lines) == "/public/v1/products/PRD-000001"
    assert client.products["PRD-000001"]("endsale").get()["id"] == "PRD-000001"
    assert sent_path(lines) == "/public/v1/products/PRD-000001/endsale"
