"""Database administration over the local engine.

Create, delete, info and listing of databases; the security object,
``revs_limit``, compaction, view cleanup and partition info.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from settee.backends._local.state import EngineState
from settee.backends._local.util import dumps, partition_bounds
from settee.errors import BadRequest, PreconditionFailed

__all__ = ["DbAdmin"]

_DB_NAME = re.compile(r"^[a-z][a-z0-9_$()+/-]*$")


class DbAdmin(EngineState):
    """The server's and each database's administration calls."""

    # -- server ----------------------------------------------------------------
    def all_dbs(self) -> list[str]:
        """Every database name, sorted."""
        with self.storage.read() as txn:
            return sorted(txn.list_dbs())

    def create_db(self, name: str, *, partitioned: bool = False) -> None:
        """Create ``name``; ``PreconditionFailed`` if it exists, ``BadRequest`` if ill-named."""
        if not isinstance(name, str) or not _DB_NAME.match(name):
            raise BadRequest(
                f"Name: '{name}'. Only lowercase characters (a-z), digits (0-9), and any of the "
                "characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.",
                error="illegal_database_name",
            )
        with self.storage.write() as txn:
            if txn.get_db(name) is not None:
                raise PreconditionFailed(
                    "The database could not be created, the file already exists.",
                    error="file_exists",
                )
            txn.create_db(name, partitioned)

    def delete_db(self, name: str) -> None:
        """Delete ``name``; ``NotFound`` if absent."""
        with self.storage.write() as txn:
            txn.drop_db(self._db(txn, name))

    def db_info(self, name: str) -> dict[str, Any]:
        """CouchDB's ``GET /db`` body."""
        with self.storage.read() as txn:
            meta = self._db(txn, name)
            live, deleted = txn.count_ids(meta, None, True, None, True)
        return {
            "db_name": name,
            "doc_count": live,
            "doc_del_count": deleted,
            "update_seq": meta.update_seq,
            "purge_seq": 0,
            "compact_running": False,
            "instance_start_time": "0",
            "disk_format_version": 8,
            "sizes": {"active": 0, "external": 0, "file": 0},
            "props": {"partitioned": True} if meta.partitioned else {},
        }

    # -- administration --------------------------------------------------------
    def get_security(self, db: str) -> dict[str, Any]:
        """The security object (``{}`` until one is set)."""
        with self.storage.read() as txn:
            security: dict[str, Any] = json.loads(dumps(self._db(txn, db).security))
            return security

    def put_security(self, db: str, security: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the security object."""
        if not isinstance(security, Mapping):
            raise BadRequest("Security object must be a JSON object", error="bad_request")
        text = dumps(dict(security))
        with self.storage.write() as txn:
            meta = self._db(txn, db)
            meta.security = json.loads(text)
            txn.set_db_props(meta)
        return {"ok": True}

    def get_revs_limit(self, db: str) -> int:
        """How many revisions each branch keeps (default 1000)."""
        with self.storage.read() as txn:
            return self._db(txn, db).revs_limit

    def set_revs_limit(self, db: str, limit: int) -> dict[str, Any]:
        """Set ``revs_limit``; ``BadRequest`` unless a positive integer."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            raise BadRequest("The revs_limit must be a positive integer", error="bad_request")
        with self.storage.write() as txn:
            meta = self._db(txn, db)
            meta.revs_limit = limit
            txn.set_db_props(meta)
        return {"ok": True}

    def compact(self, db: str) -> dict[str, Any]:
        """Drop the bodies of non-leaf revisions, as CouchDB's compaction does."""
        with self.storage.write() as txn:
            txn.prune_bodies(self._db(txn, db))
        self.storage.reclaim()
        return {"ok": True}

    def view_cleanup(self, db: str) -> dict[str, Any]:
        """Nothing to clean: Python views keep no index files."""
        with self.storage.read() as txn:
            self._db(txn, db)
        return {"ok": True}

    def partition_info(self, db: str, partition: str) -> dict[str, Any]:
        """``GET /db/_partition/{p}``: counts for one partition."""
        with self.storage.read() as txn:
            meta = self._db(txn, db)
            self._check_partition(meta, partition)
            plo, phi = partition_bounds(partition)
            live, deleted = txn.count_ids(meta, plo, True, phi, False)
        return {
            "db_name": db,
            "partition": partition,
            "doc_count": live,
            "doc_del_count": deleted,
            "sizes": {"active": 0, "external": 0},
        }
