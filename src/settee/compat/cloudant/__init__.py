"""python-cloudant 2.15's public API on settee's core (``import cloudant`` -> this).

Modules mirror python-cloudant's: ``client``, ``database``, ``document``,
``design_document``, ``view``, ``query``, ``index``, ``result``, ``feed``,
``replicator``, ``scheduler``, ``security_document``, ``error``, ``adapters``.
This package offers python-cloudant's context managers: :func:`cloudant`,
:func:`cloudant_iam`, :func:`cloudant_bluemix`, :func:`couchdb`,
:func:`couchdb_admin_party`. See ``docs/migration.md`` for every name and
each behaviour difference.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from settee.compat.cloudant.client import Cloudant, CouchDB

__all__ = ["cloudant", "cloudant_bluemix", "cloudant_iam", "couchdb", "couchdb_admin_party"]


@contextlib.contextmanager
def cloudant(user: str, passwd: str, **kwargs: Any) -> Iterator[Cloudant]:
    """``with cloudant(user, pw, account=...) as client:`` connects, then disconnects."""
    client = Cloudant(user, passwd, **kwargs)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


@contextlib.contextmanager
def cloudant_iam(account_name: str | None, api_key: str, **kwargs: Any) -> Iterator[Cloudant]:
    """``with cloudant_iam(account, api_key) as client:`` (IAM auth)."""
    client = Cloudant.iam(account_name, api_key, **kwargs)
    assert isinstance(client, Cloudant)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


@contextlib.contextmanager
def cloudant_bluemix(
    vcap_services: Mapping[str, Any] | str,
    instance_name: str | None = None,
    service_name: str | None = None,
    **kwargs: Any,
) -> Iterator[Cloudant]:
    """``with cloudant_bluemix(os.environ["VCAP_SERVICES"]) as client:``."""
    client = Cloudant.bluemix(vcap_services, instance_name, service_name, **kwargs)
    assert isinstance(client, Cloudant)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


@contextlib.contextmanager
def couchdb(user: str, passwd: str, **kwargs: Any) -> Iterator[CouchDB]:
    """``with couchdb(user, pw, url=...) as client:`` connects, then disconnects."""
    client = CouchDB(user, passwd, **kwargs)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


@contextlib.contextmanager
def couchdb_admin_party(**kwargs: Any) -> Iterator[CouchDB]:
    """``with couchdb_admin_party(url=...) as client:`` without credentials."""
    client = CouchDB(None, None, True, **kwargs)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()
