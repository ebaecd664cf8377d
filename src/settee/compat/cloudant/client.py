"""python-cloudant's ``cloudant.client``: :class:`CouchDB` and :class:`Cloudant`.

Both are settee clients (:class:`settee.client.CouchDB` /
:class:`settee.cloudant.Cloudant`) with python-cloudant's constructor
keywords (``encoder``, ``url`` with credentials) and mapping rules: a
``dict`` of the :class:`~settee.compat.cloudant.database.CouchDatabase`
handles fetched so far. ``r_session`` is the authenticated session once
:meth:`CouchDB.connect` ran, and None again after :meth:`CouchDB.disconnect`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from settee import client as native
from settee import errors
from settee._validate import is_valid_db_name
from settee.cloudant import Cloudant as NativeCloudant
from settee.compat.cloudant.database import CloudantDatabase, CouchDatabase
from settee.compat.cloudant.error import (
    ClientDisconnected,
    CloudantClientException,
    CloudantDatabaseException,
    CloudantFeedException,
)
from settee.compat.cloudant.feed import Feed, InfiniteFeed
from settee.http.session import AuthenticatedSession, HTTPResponse, plug, unplug
from settee.urls import split_credentials

__all__ = ["Cloudant", "CouchDB"]


def _credentials(
    user: str | None, auth_token: str | None, admin_party: bool, url: str | None
) -> tuple[str | None, str | None, bool, str | None]:
    """Credentials in the URL's userinfo are used when no user/token is given."""
    if url is None:
        return user, auth_token, admin_party, url
    clean, creds = split_credentials(url)
    if creds is None:
        return user, auth_token, admin_party, url
    if user is None and auth_token is None and not admin_party:
        return creds[0], creds[1], False, clean
    return user, auth_token, admin_party, clean


def _error_in_reason(response: HTTPResponse, *args: Any, **kwargs: Any) -> HTTPResponse:
    """A response hook, as python-cloudant's: an error answer's ``reason`` gets CouchDB's
    ``error`` and ``reason`` appended (``"Bad Request doc_validation Bad special ..."``)."""
    if response.status_code >= 400:
        try:
            body = json.loads(response.content or b"")
        except ValueError:
            return response
        if isinstance(body, dict):
            response.reason = f"{response.reason} {body.get('error', '')} {body.get('reason', '')}"
    return response


def _disconnected(method: str, url: str) -> ClientDisconnected:
    return ClientDisconnected(
        f"{method} {url}: the client is disconnected; connect() it first",
        method=method,
        url=url,
    )


class _Compat:
    """What both compat clients add to settee's: ``encoder``, ``r_session``, dict rules."""

    encoder: type[json.JSONEncoder]
    _r_session: AuthenticatedSession | None

    def _set_encoder(self, encoder: type[json.JSONEncoder] | None) -> None:
        # Kept as given, as python-cloudant does; document bodies go through it
        # only when it is a JSONEncoder subclass.
        self.encoder = json.JSONEncoder if encoder is None else encoder
        self._r_session = None


class CouchDB(native.CouchDB, _Compat):
    """python-cloudant's ``CouchDB(user, auth_token, admin_party=False, **kwargs)``.

    Keywords: ``url`` (credentials in it are used when ``user`` and
    ``auth_token`` are None), ``connect``, ``auto_renew``, ``use_basic_auth``,
    ``encoder`` (a ``json.JSONEncoder`` subclass for document bodies),
    ``timeout`` (every request's, change feeds' too, unless ``feed_timeout`` is given),
    ``adapter`` and settee's transport options. Once connected, an error answer's
    ``response.reason`` carries CouchDB's ``error`` and ``reason``, as python-cloudant's.
    """

    _DATABASE_CLASS: type[CouchDatabase] = CouchDatabase
    database_class = CouchDatabase

    def __init__(
        self,
        user: str | None,
        auth_token: str | None,
        admin_party: bool = False,
        **kwargs: Any,
    ) -> None:
        self._set_encoder(kwargs.pop("encoder", None))
        connect = bool(kwargs.pop("connect", False))
        user, auth_token, admin_party, url = _credentials(
            user, auth_token, admin_party, kwargs.pop("url", None)
        )
        if url is None:
            raise CloudantClientException(102)
        if kwargs.get("timeout") is not None and "feed_timeout" not in kwargs:
            # python-cloudant's timeout applies to every request, feeds included.
            kwargs["feed_timeout"] = kwargs["timeout"]
        super().__init__(user, auth_token, admin_party, url=url, **kwargs)
        self._user = user
        #: python-cloudant's ``_auth_token``: the password or token the client
        #: authenticates with (from ``auth_token`` or the URL's userinfo); None
        #: for admin party.
        self._auth_token = auth_token
        if connect:
            self.connect()

    # -- session ------------------------------------------------------------------
    @property
    def r_session(self) -> AuthenticatedSession | None:  # type: ignore[override]
        """The authenticated ``requests.Session`` (None before connect/after disconnect)."""
        return self._r_session

    def connect(self) -> None:
        """Start the session (cookie login) and open ``r_session``."""
        if self.backend.kind == "http":
            transport = self.server_session.transport("connect()")
            plug(transport)
            hooks = transport.session.hooks["response"]
            if _error_in_reason not in hooks:
                hooks.append(_error_in_reason)
        super().connect()
        if self._r_session is None and self.backend.kind == "http":
            self._r_session = AuthenticatedSession(self.server_session.transport("r_session"))

    def disconnect(self) -> None:
        """End the session, close connections; ``r_session`` becomes None and, until
        :meth:`connect`, every request raises :class:`ClientDisconnected` (an
        ``AttributeError``, as python-cloudant's ``None`` session gives)."""
        session, self._r_session = self._r_session, None
        if session is not None:
            session.close()
        self.close()
        if self.backend.kind == "http":
            unplug(self.server_session.transport("disconnect()"), _disconnected)

    def __enter__(self) -> CouchDB:
        self.connect()
        return self

    # -- the dict of databases ------------------------------------------------------
    def __getitem__(self, key: str) -> CouchDatabase:
        """The cached database, else one fetch; ``KeyError`` if it does not exist."""
        db = super().__getitem__(key)
        assert isinstance(db, CouchDatabase)
        return db

    def get(self, key: str, default: Any = None, remote: bool = False) -> Any:
        """The cached database, or ``default``; ``remote=True`` asks the server."""
        return super().get(key, default, remote)

    def __setitem__(self, key: str, value: Any, remote: bool = False) -> None:
        """Cache ``value`` as ``key``; ``remote=True`` also creates it on the server.
        ``CloudantClientException(101)`` unless ``value`` is a database."""
        if not isinstance(value, CouchDatabase):
            raise CloudantClientException(101, type(value).__name__)
        super().__setitem__(key, value, remote)

    def create_database(  # type: ignore[override]
        self, dbname: str, partitioned: bool = False, **kwargs: Any
    ) -> CouchDatabase:
        """Create ``dbname`` and return its handle. ``throw_on_exists=True``:
        ``CloudantClientException(412)`` when it exists; ``CloudantDatabaseException(400)``
        for a name CouchDB refuses."""
        throw = bool(kwargs.pop("throw_on_exists", False))
        if isinstance(dbname, str) and not is_valid_db_name(dbname):
            raise CloudantDatabaseException(400, dbname)  # CouchDB's 400, before the request
        try:
            db = super().create_database(
                dbname, partitioned=partitioned, throw_on_exists=True, **kwargs
            )
        except errors.PreconditionFailed as exc:
            if throw:
                raise CloudantClientException(412, dbname) from exc
            db = self.database_class(self, dbname, partitioned=partitioned)
            self._cache[dbname] = db
        assert isinstance(db, CouchDatabase)
        return db

    def delete_database(self, dbname: str) -> None:
        """Delete ``dbname``; ``CloudantClientException(404)`` if it does not exist."""
        try:
            super().delete_database(dbname)
        except errors.NotFound as exc:
            raise CloudantClientException(404, dbname) from exc

    def db_updates(self, raw_data: bool = False, **kwargs: Any) -> Feed:  # type: ignore[override]
        """The ``_db_updates`` :class:`~settee.compat.cloudant.feed.Feed` of the server."""
        return Feed(self, raw_data=raw_data, **kwargs)

    def infinite_db_updates(self, **kwargs: Any) -> InfiniteFeed:  # type: ignore[override]
        """CouchDB has no infinite ``_db_updates`` here: ``CloudantFeedException(101)``."""
        raise CloudantFeedException(101)

    def __iter__(self) -> Iterator[str]:
        return super().__iter__()


class Cloudant(NativeCloudant, CouchDB):
    """python-cloudant's ``Cloudant(cloudant_user, auth_token, **kwargs)``: ``account``,
    ``url``, ``x_cloudant_user``, ``use_iam``, and :class:`CouchDB`'s keywords."""

    _DATABASE_CLASS: type[CouchDatabase] = CloudantDatabase
    database_class = CloudantDatabase

    def infinite_db_updates(self, **kwargs: Any) -> InfiniteFeed:  # type: ignore[override]
        """A perpetually reconnecting ``_db_updates``
        :class:`~settee.compat.cloudant.feed.InfiniteFeed`."""
        return InfiniteFeed(self, **kwargs)
