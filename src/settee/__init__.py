"""settee: a Python client for CouchDB-style document databases.

``settee.connect(url)`` returns a :class:`Client` (``http(s)://`` CouchDB,
Cloudant or PouchDB Server; ``memory:``; ``sqlite:///file.db``); a client is a
dict of :class:`Database` handles, a database a dict of :class:`Document`\\ s.
python-cloudant's names (``CouchDB``, ``Result``, ``QueryResult``,
``ResultByKey``...) work as before. Errors are in :mod:`settee.errors`.
"""

from __future__ import annotations

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.oauth2 import OAuth2AuthorizationCode, OAuth2ClientCredentials, OAuth2Password
from settee.auth.protocol import Auth
from settee.auth.schemes import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth, SessionAuth
from settee.client import Client, CouchDB, connect, couchdb, couchdb_admin_party
from settee.cloudant import Cloudant, cloudant, cloudant_bluemix, cloudant_iam
from settee.database import Database
from settee.document import DesignDocument, Document
from settee.errors import (
    AccountLocked,
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
from settee.feeds.checkpoints import (
    CheckpointStore,
    FileCheckpoint,
    LocalDocumentCheckpoint,
    MemoryCheckpoint,
)
from settee.feeds.feed import Feed, InfiniteFeed
from settee.pages.bookmarks import QueryResult
from settee.pages.keys import Result, ResultByKey
from settee.partition import Partition
from settee.replication import Replication, ReplicationResult, replicate, sync
from settee.rql.builder import R

__version__ = "0.1.0"

__all__ = [
    "AccountLocked",
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
    "Replication",
    "ReplicationResult",
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
    "replicate",
    "sync",
]
