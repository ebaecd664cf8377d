"""Fixtures the fault tests share: a proxy in front of ``http_server`` and a fresh database.

``proxy`` is a started :class:`~tests.http.proxy.FaultProxy` to the server's
first node (a cluster's other nodes are in ``http_server.node_urls``);
``db_name`` names a database created on the server for the test and deleted
after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.conftest import Server, unique_name
from tests.http.proxy import FaultProxy


@pytest.fixture
def proxy(http_server: Server) -> Iterator[FaultProxy]:
    with FaultProxy.to(http_server.url, max_lifetime=300) as p:
        yield p


@pytest.fixture
def db_name(http_server: Server) -> Iterator[str]:
    name = unique_name("fault")
    http_server.raw("PUT", f"/{name}")
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            http_server.raw("DELETE", f"/{name}")
