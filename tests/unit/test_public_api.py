"""The public surface of ``settee``: pinned, so adding or losing a name is a decision."""

from __future__ import annotations

import settee
from settee import auth, errors

EXPECTED = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert settee.__all__ == EXPECTED
    assert settee.__all__ == sorted(settee.__all__)


def test_every_name_is_importable() -> None:
    for name in settee.__all__:
        assert getattr(settee, name) is not None, name


def test_every_error_class_is_exported_and_reachable_via_errors() -> None:
    classes = [
        n for n in errors.__all__ if n not in {"ERROR_CLASSES", "error_for", "error_for_status"}
    ]
    for name in classes:
        assert getattr(settee, name) is getattr(errors, name)
        assert getattr(settee.errors, name) is getattr(errors, name)
        assert issubclass(getattr(settee, name), errors.SetteeError)


def test_every_auth_strategy_is_exported() -> None:
    strategies = [n for n in auth.__all__ if n.endswith("Auth") or n == "Auth"]
    for name in strategies:
        assert getattr(settee, name) is getattr(auth, name)


def test_python_cloudant_names() -> None:
    assert issubclass(settee.CouchDB, settee.Client)
    assert issubclass(settee.Cloudant, settee.CouchDB)
    assert issubclass(settee.DesignDocument, settee.Document)
    assert issubclass(settee.Document, dict)
    assert issubclass(settee.DocumentNotFound, KeyError)
    assert isinstance(settee.__version__, str) and settee.__version__


def test_feed_names_come_from_settee_feeds() -> None:
    import settee.feeds as feeds

    for name in (
        "Feed",
        "InfiniteFeed",
        "CheckpointStore",
        "FileCheckpoint",
        "LocalDocumentCheckpoint",
        "MemoryCheckpoint",
    ):
        assert getattr(settee, name) is getattr(feeds, name)
