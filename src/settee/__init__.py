"""settee: a Python client for CouchDB-style document databases.

``settee.connect(url)`` returns a :class:`Client` (``http(s)://`` CouchDB,
Cloudant or PouchDB Server; ``memory:``; ``sqlite:///file.db``); a client is a
dict of :class:`Database` handles, a database a dict of :class:`Document`\\ s.
python-cloudant's names (``CouchDB``, ``Result``, ``QueryResult``,
``ResultByKey``...) work as before. Errors are in :mod:`settee.errors`.
"""

from __future__ import annotations

from . import errors
from .auth import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    IAMAuth,
    NoAuth,
    SessionAuth,
)
from .client import Client, CouchDB, connect, couchdb, couchdb_admin_party
from .cloudant import Cloudant, cloudant, cloudant_bluemix, cloudant_iam
from .database import Database, Partition
from .document import DesignDocument, Document
from .errors import (
    BadRequest,
    Conflict,
    CouchError,
    DocumentNotFound,
    FeedError,
    Forbidden,
    NotFound,
    NotSupported,
    PreconditionFailed,
    RQLSyntaxError,
    ServerError,
    SetteeError,
    TooManyRequests,
    TransportError,
    Unauthorized,
)
from .feeds import (
    CheckpointStore,
    Feed,
    FileCheckpoint,
    InfiniteFeed,
    LocalDocumentCheckpoint,
    MemoryCheckpoint,
)
from .oauth2 import OAuth2AuthorizationCode, OAuth2ClientCredentials, OAuth2Password
from .pages import QueryResult, Result, ResultByKey
from .rql import R

__version__ = "0.1.0"

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BadRequest",
    "BasicAuth",
    "BearerAuth",
    "CheckpointStore",
    "Client",
    "Cloudant",
    "Conflict",
    "CouchDB",
    "CouchError",
    "Database",
    "DesignDocument",
    "Document",
    "DocumentNotFound",
    "Feed",
    "FeedError",
    "FileCheckpoint",
    "Forbidden",
    "IAMAuth",
    "InfiniteFeed",
    "LocalDocumentCheckpoint",
    "MemoryCheckpoint",
    "NoAuth",
    "NotFound",
    "NotSupported",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2Password",
    "Partition",
    "PreconditionFailed",
    "QueryResult",
    "R",
    "RQLSyntaxError",
    "Result",
    "ResultByKey",
    "ServerError",
    "SessionAuth",
    "SetteeError",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "__version__",
    "cloudant",
    "cloudant_bluemix",
    "cloudant_iam",
    "connect",
    "couchdb",
    "couchdb_admin_party",
    "errors",
]
