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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from settee.compat.cloudant.client import Cloudant, CouchDB

__all__ = ["cloudant", "cloudant_bluemix", "cloudant_iam", "couchdb", "couchdb_admin_party"]

_C = TypeVar("_C", bound=CouchDB)


@contextlib.contextmanager
def _connected(make: Callable[[], _C]) -> Iterator[_C]:
    """Build the client on entering the block (as python-cloudant does), connect it,
    hand it out, and disconnect it however the block ends."""
    client = make()
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


def _cloudant(client: object) -> Cloudant:
    assert isinstance(client, Cloudant)
    return client


def cloudant(user: str, passwd: str, **kwargs: Any) -> contextlib.AbstractContextManager[Cloudant]:
    """``with cloudant(user, pw, account=...) as client:`` connects, then disconnects."""
    return _connected(lambda: Cloudant(user, passwd, **kwargs))


def cloudant_iam(
    account_name: str | None, api_key: str, **kwargs: Any
) -> contextlib.AbstractContextManager[Cloudant]:
    """``with cloudant_iam(account, api_key) as client:`` (IAM auth)."""
    return _connected(lambda: _cloudant(Cloudant.iam(account_name, api_key, **kwargs)))


def cloudant_bluemix(
    vcap_services: Mapping[str, Any] | str,
    instance_name: str | None = None,
    service_name: str | None = None,
    **kwargs: Any,
) -> contextlib.AbstractContextManager[Cloudant]:
    """``with cloudant_bluemix(os.environ["VCAP_SERVICES"]) as client:``."""
    return _connected(
        lambda: _cloudant(Cloudant.bluemix(vcap_services, instance_name, service_name, **kwargs))
    )


def couchdb(user: str, passwd: str, **kwargs: Any) -> contextlib.AbstractContextManager[CouchDB]:
    """``with couchdb(user, pw, url=...) as client:`` connects, then disconnects."""
    return _connected(lambda: CouchDB(user, passwd, **kwargs))


def couchdb_admin_party(**kwargs: Any) -> contextlib.AbstractContextManager[CouchDB]:
    """``with couchdb_admin_party(url=...) as client:`` without credentials."""
    return _connected(lambda: CouchDB(None, None, True, **kwargs))
