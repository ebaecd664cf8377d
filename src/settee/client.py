"""Client: a dict-like view of a server's databases, and server/session operations.

``settee.connect(url, auth=None, **options)`` builds a :class:`Client` over the
backend the URL names (``http(s)://``, ``memory:``, ``sqlite:///file.db``).
:class:`CouchDB` is the same class with python-cloudant's constructor
``CouchDB(user, auth_token, url=..., admin_party=False, ...)``; ``Cloudant``
(``settee.cloudant``) extends it.

Mapping semantics follow python-cloudant's ``remote=`` rules: ``client[name]``
returns the cached :class:`~settee.database.Database` handle or fetches it
(one ``db_info`` request; ``KeyError`` if the database does not exist);
``get``/``keys``/``__delitem__``/``__setitem__`` touch only the cache unless
``remote=True``; ``name in client`` is truthful (asks the server on a cache
miss). ``iter(client)`` and ``len(client)`` cover the *cached* handles. The
cache is bounded (``cache_size`` handles, LRU; ``cache_ttl`` seconds when
given). Explicit verbs (``all_dbs``, ``create_database``, ``delete_database``)
always act on the server. Sessions, credentials and the auth strategy are a
:class:`~settee.http.session.ServerSession` the client holds
(``client.server_session``); python-cloudant's names for them
(``session()``, ``session_login()``, ``r_session``...) stay on the client.

A client is a context manager: ``with settee.connect(url) as client:`` logs
in (cookie auth) on entry and closes on exit (:meth:`Client.close`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from settee import errors
from settee._doccache import BoundedCache, check_cache_options
from settee._validate import check_int, is_valid_db_name, validate_db_name
from settee.auth.protocol import Auth
from settee.auth.schemes import BasicAuth, NoAuth, SessionAuth
from settee.backends import ConnectOptions, open_backend
from settee.backends.base import Backend, require
from settee.database import Database
from settee.feeds import feed as feeds
from settee.feeds.feed import Feed, InfiniteFeed
from settee.feeds.options import DbUpdatesOptions, InfiniteDbUpdatesOptions
from settee.http.session import HTTPSession, ServerSession
from settee.rows import DbUpdateRow

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("settee")

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "Client",
    "CouchDB",
    "connect",
    "couchdb",
    "couchdb_admin_party",
]

#: Database handles a client (and documents a database) keeps by default.
DEFAULT_CACHE_SIZE = 1024

_T = TypeVar("_T")
_C = TypeVar("_C", bound="Client")


class Client:
    """A connection to one server or local store; a bounded dict of Database handles.

    ``Client(url, auth=None, *, cache_size=1024, cache_ttl=None, backend=None,
    **options)``: ``auth`` is a strategy from :mod:`settee.auth` or a
    ``(user, password)`` tuple; ``cache_size`` bounds the handle cache (LRU)
    and ``cache_ttl`` expires handles after that many seconds (measured by
    ``cache_timer``, ``time.monotonic`` by default); the same bounds apply to
    each database's document cache. ``options`` go to the backend
    (``timeout``, ``max_retries``, ``backoff_factor``, ``retry_status_codes``,
    ``headers``, ``adapter``, ...). ``backend`` passes a ready backend instead
    of a URL.
    Use it as a context manager: ``connect()`` on entry, ``close()`` on exit.
    """

    #: The class of the handles ``client[name]`` returns (Cloudant overrides it).
    database_class: type[Database] = Database

    def __init__(
        self,
        url: str | None = None,
        auth: Auth | tuple[str, str] | None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: float | None = None,
        cache_timer: Callable[[], float] = time.monotonic,
        backend: Backend | None = None,
        **options: Unpack[ConnectOptions],
    ) -> None:
        check_cache_options(cache_size, cache_ttl)
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        self.cache_timer = cache_timer
        if backend is None:
            if url is None:
                raise TypeError("Client needs a url (http(s)://..., memory:, sqlite:///...)")
            if auth is None:
                backend = open_backend(url, **options)
            else:
                backend = open_backend(url, auth=auth, **options)
        elif url is not None or auth is not None or options:
            raise TypeError("give either backend= or a url with its options, not both")
        self.backend: Backend = backend
        #: Sessions, credentials and the auth strategy (HTTP backends).
        self.server_session = ServerSession(backend)
        self._cache: BoundedCache[Database] = BoundedCache(cache_size, cache_ttl, cache_timer)
        self._features: list[Any] | None = None

    @property
    def url(self) -> str:
        """Where the client points; never carries credentials."""
        return self.backend.url

    @property
    def server_url(self) -> str:
        """python-cloudant's name for :attr:`url`."""
        return self.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, backend={self.backend.kind!r})"

    # -- mapping protocol -------------------------------------------------------
    def _evict(self, name: str) -> None:
        self._cache.pop(name, None)

    def _load(self, name: str) -> Database:
        info = self.backend.db_info(name)
        props = info.get("props") if isinstance(info, dict) else None
        partitioned = bool(isinstance(props, dict) and props.get("partitioned"))
        db = self.database_class(self, name, partitioned=partitioned)
        self._cache[name] = db
        return db

    def __getitem__(self, name: str) -> Database:
        """The cached handle, else one ``db_info`` request; ``KeyError`` if absent.

        ``ValueError`` for an invalid database name (no request is made).
        """
        cached = self._cache.get(validate_db_name(name))
        if cached is not None:
            return cached
        try:
            return self._load(name)
        except errors.NotFound as exc:
            raise KeyError(name) from exc

    @overload
    def get(self, name: str, default: None = None, remote: bool = False) -> Database | None: ...
    @overload
    def get(self, name: str, default: _T, remote: bool = False) -> Database | _T: ...
    def get(self, name: str, default: object = None, remote: bool = False) -> object:
        """The cached handle or ``default``; ``remote=True`` asks the server (and caches)."""
        validate_db_name(name)
        if not remote:
            cached: Database | None = self._cache.get(name)
            return default if cached is None else cached
        try:
            return self._load(name)
        except errors.NotFound:
            self._evict(name)
            return default

    def __contains__(self, name: object) -> bool:
        """Whether the database exists: True from the cache, else asks the server."""
        if not is_valid_db_name(name):
            return False
        assert isinstance(name, str)
        if name in self._cache:
            return True
        try:
            self._load(name)
        except errors.NotFound:
            return False
        return True

    def keys(self, remote: bool = False) -> list[str]:
        """Cached database names; ``remote=True``: every database on the server."""
        if remote:
            return self.all_dbs()
        return list(self._cache.keys())

    def __iter__(self) -> Iterator[str]:
        """The names of the cached handles (not every database: see ``all_dbs()``)."""
        return iter(list(self._cache.keys()))

    def __len__(self) -> int:
        """How many handles are cached (not how many databases exist)."""
        return len(self._cache)

    def __bool__(self) -> bool:
        return True  # a client with nothing cached is still connected

    def __delitem__(self, name: str, remote: bool = False) -> None:
        """Drop the cached handle (``KeyError`` if not cached); ``remote=True`` deletes
        the database on the server (``NotFound`` if absent)."""
        validate_db_name(name)
        if remote:
            self.delete_database(name)
            return
        del self._cache[name]

    def __setitem__(self, name: str, database: Database, remote: bool = False) -> None:
        """Cache ``database`` under its name; ``remote=True`` also creates it if missing."""
        if not isinstance(database, Database):
            raise TypeError(f"only Database handles can be stored, not {type(database).__name__}")
        validate_db_name(name)
        if database.database_name != name:
            raise ValueError(f"handle for {database.database_name!r} cannot be stored as {name!r}")
        if database.client is not self:
            raise ValueError("that Database belongs to another client")
        if remote:
            database.create(throw_on_exists=False)
        self._cache[name] = database

    def clear_cache(self) -> None:
        """Forget every cached handle."""
        self._cache.clear()

    # -- server verbs -----------------------------------------------------------
    def all_dbs(self) -> list[str]:
        """Every database name on the server, sorted."""
        return list(self.backend.all_dbs())

    def create_database(
        self,
        dbname: str,
        partitioned: bool = False,
        throw_on_exists: bool = False,
        **params: Any,
    ) -> Database:
        """Create a database and return its (cached) handle.

        An existing database returns its handle, unless ``throw_on_exists``:
        then ``PreconditionFailed``. ``params`` go to the server (``q``, ``n``).
        ``ValueError`` for an invalid name, before any request.
        """
        validate_db_name(dbname)
        if partitioned:
            require(self.backend, "partitions", "create_database(partitioned=True)")
        try:
            self.backend.create_db(dbname, partitioned=bool(partitioned), params=params or None)
        except errors.PreconditionFailed:
            if throw_on_exists:
                raise
            return self._load(dbname)
        db = self.database_class(self, dbname, partitioned=bool(partitioned))
        self._cache[dbname] = db
        return db

    def delete_database(self, dbname: str) -> None:
        """Delete a database on the server; ``NotFound`` if absent. Evicts its handle."""
        validate_db_name(dbname)
        try:
            self.backend.delete_db(dbname)
        finally:
            self._evict(dbname)

    def metadata(self) -> dict[str, Any]:
        """The server's welcome document (``GET /``)."""
        info: dict[str, Any] = self.backend.server_info()
        return info

    def features(self) -> list[Any]:
        """The server's ``features`` list (fetched once, then cached)."""
        if self._features is None:
            self._features = list(self.metadata().get("features", []))
        return self._features

    def uuids(self, count: int = 1) -> list[str]:
        """``count`` fresh uuids from the server."""
        return list(self.backend.uuids(check_int("count", count, 1)))

    # -- sessions and credentials (python-cloudant's names for server_session's) ----
    @property
    def r_session(self) -> HTTPSession:
        """The ``requests.Session`` (HTTP backends only; ``NotSupported`` elsewhere)."""
        return self.server_session.r_session

    @property
    def auth(self) -> Auth | None:
        """The auth strategy in use (None on a local backend)."""
        return self.server_session.auth

    @property
    def admin_party(self) -> bool:
        """Whether the client sends no credentials."""
        return self.server_session.admin_party

    @property
    def is_iam_authenticated(self) -> bool:
        """Whether the client authenticates with an IBM Cloud IAM API key."""
        return self.server_session.is_iam_authenticated

    def session(self) -> dict[str, Any]:
        """``GET /_session``: who the server thinks we are (``userCtx``)."""
        return self.server_session.info()

    def session_cookie(self) -> str | None:
        """The current ``AuthSession`` cookie value (None unless cookie auth is logged in)."""
        return self.server_session.cookie()

    def session_login(self, user: str | None = None, passwd: str | None = None) -> None:
        """Log in (cookie auth), first switching credentials if given; ``Unauthorized``
        when the server refuses them."""
        self.server_session.login(user, passwd)

    def session_logout(self) -> None:
        """End the cookie session (``DELETE /_session``) and forget the cookie."""
        self.server_session.logout()

    def basic_auth_str(self) -> str | None:
        """``"Basic <base64>"`` for the client's user and password; None without them."""
        return self.server_session.basic_auth_str()

    def change_credentials(self, user: str | None = None, auth_token: str | None = None) -> None:
        """Use new credentials (a None keeps the current value); log in again with cookies.
        ``NotSupported`` for strategies without a user and password."""
        self.server_session.change_credentials(user, auth_token)

    # -- lifecycle --------------------------------------------------------------------
    def connect(self) -> None:
        """Start the session: logs in when the client uses cookie auth; otherwise nothing."""
        self.server_session.connect()

    def close(self) -> None:
        """Log out (cookie auth), close connections and forget cached handles.

        A logout the server refuses because the session is already gone (401)
        or cannot reach it is not an error here: the session is over either way.
        """
        try:
            if self.backend.kind == "http":
                self.server_session.logout()
        except (errors.Unauthorized, errors.TransportError) as exc:
            logger.debug("logout during close failed, session already gone: %s", exc)
        finally:
            self._cache.clear()
            self.backend.close()

    def disconnect(self) -> None:
        """python-cloudant's name for :meth:`close`."""
        self.close()

    def __enter__(self: _C) -> _C:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- feeds (settee.feeds) -------------------------------------------------------
    @overload
    def db_updates(
        self, *, raw_data: Literal[False] = False, **options: Unpack[DbUpdatesOptions]
    ) -> Feed[DbUpdateRow]: ...
    @overload
    def db_updates(
        self, *, raw_data: Literal[True], **options: Unpack[DbUpdatesOptions]
    ) -> Feed[str]: ...
    @overload
    def db_updates(
        self, *, raw_data: bool, **options: Unpack[DbUpdatesOptions]
    ) -> Feed[DbUpdateRow] | Feed[str]: ...
    def db_updates(
        self, *, raw_data: bool = False, **options: Unpack[DbUpdatesOptions]
    ) -> Feed[DbUpdateRow] | Feed[str]:
        """The server-wide ``_db_updates`` :class:`~settee.feeds.feed.Feed`; options:
        :class:`~settee.feeds.options.DbUpdatesOptions` (``TypeError`` for another keyword).
        ``NotSupported`` at once on a backend without ``_db_updates``."""
        require(self.backend, "db_updates", "db_updates()")
        return feeds.db_updates_feed(self, raw_data=raw_data, **options)

    @overload
    def infinite_db_updates(
        self, *, raw_data: Literal[False] = False, **options: Unpack[InfiniteDbUpdatesOptions]
    ) -> InfiniteFeed[DbUpdateRow]: ...
    @overload
    def infinite_db_updates(
        self, *, raw_data: Literal[True], **options: Unpack[InfiniteDbUpdatesOptions]
    ) -> InfiniteFeed[str]: ...
    @overload
    def infinite_db_updates(
        self, *, raw_data: bool, **options: Unpack[InfiniteDbUpdatesOptions]
    ) -> InfiniteFeed[DbUpdateRow] | InfiniteFeed[str]: ...
    def infinite_db_updates(
        self, *, raw_data: bool = False, **options: Unpack[InfiniteDbUpdatesOptions]
    ) -> InfiniteFeed[DbUpdateRow] | InfiniteFeed[str]:
        """A perpetually reconnecting ``_db_updates`` feed; options:
        :class:`~settee.feeds.options.InfiniteDbUpdatesOptions`; ``NotSupported`` at
        once on a backend without ``_db_updates``."""
        require(self.backend, "db_updates", "infinite_db_updates()")
        return feeds.infinite_db_updates_feed(self, raw_data=raw_data, **options)


class CouchDB(Client):
    """A :class:`Client` with python-cloudant's constructor.

    ``CouchDB(user, auth_token, url=..., admin_party=False, connect=False,
    auto_renew=False, use_basic_auth=False, timeout=None, **options)``:
    ``admin_party`` sends no credentials, ``use_basic_auth`` sends them on
    every request, otherwise a cookie session (``SessionAuth``, re-logging in
    on expiry when ``auto_renew``). ``timeout`` None keeps settee's default
    (10 s connect, 60 s read). ``connect=True`` logs in right away.
    """

    def __init__(
        self,
        user: str | None,
        auth_token: str | None,
        admin_party: bool = False,
        *,
        url: str,
        connect: bool = False,
        auto_renew: bool = False,
        use_basic_auth: bool = False,
        timeout: Any = None,
        **options: Any,
    ) -> None:
        auth: Auth
        if admin_party:
            auth = NoAuth()
        else:
            if not isinstance(user, str) or not isinstance(auth_token, str):
                raise TypeError("CouchDB(user, auth_token) needs two strings unless admin_party")
            if use_basic_auth:
                auth = BasicAuth(user, auth_token)
            else:
                auth = SessionAuth(user, auth_token, auto_renew=auto_renew)
        if timeout is not None:
            options["timeout"] = timeout
        super().__init__(url, auth, **options)
        if connect:
            self.connect()


def connect(
    url: str,
    auth: Auth | tuple[str, str] | None = None,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    cache_ttl: float | None = None,
    **options: Unpack[ConnectOptions],
) -> Client:
    """A :class:`Client` for ``url`` (``http(s)://``, ``memory:``, ``sqlite:///file.db``).

    ``auth``: a strategy or ``(user, password)``; credentials in the URL become
    ``BasicAuth`` and are stripped from ``client.url``. ``options`` go to the
    backend. ``ValueError`` for an unknown scheme.
    """
    return Client(url, auth, cache_size=cache_size, cache_ttl=cache_ttl, **options)


@contextlib.contextmanager
def couchdb(user: str, passwd: str, **kwargs: Any) -> Iterator[CouchDB]:
    """``with couchdb(user, pw, url=...) as client:`` connects, then disconnects."""
    with CouchDB(user, passwd, **kwargs) as client:
        yield client


@contextlib.contextmanager
def couchdb_admin_party(**kwargs: Any) -> Iterator[CouchDB]:
    """``with couchdb_admin_party(url=...) as client:`` without credentials."""
    with CouchDB(None, None, admin_party=True, **kwargs) as client:
        yield client
