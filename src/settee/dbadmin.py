"""Database administration: the security document, revision limit, compaction.

:class:`AdminMixin` gives :class:`~settee.database.Database` its admin-side
methods; each is one or two requests to the backend and returns the server's
JSON answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from settee._validate import check_int

if TYPE_CHECKING:
    from settee.backends.base import Backend

__all__ = ["AdminMixin"]

_SECURITY_ROLES = frozenset(
    {
        "_reader",
        "_writer",
        "_admin",
        "_replicator",
        "_db_updates",
        "_design",
        "_shards",
        "_security",
    }
)


class AdminMixin:
    """Security document, sharing, ``_revs_limit``, compaction and view cleanup."""

    if TYPE_CHECKING:
        # Provided by Database.
        database_name: str

        @property
        def backend(self) -> Backend: ...

    def get_revision_limit(self) -> int:
        """The ``_revs_limit``."""
        return int(self.backend.get_revs_limit(self.database_name))

    def set_revision_limit(self, limit: int) -> dict[str, Any]:
        """Set the ``_revs_limit``; ``ValueError`` unless an int >= 1."""
        check_int("limit", limit, 1)
        answer: dict[str, Any] = self.backend.set_revs_limit(self.database_name, limit)
        return answer

    def compact(self) -> dict[str, Any]:
        """Start compaction."""
        answer: dict[str, Any] = self.backend.compact(self.database_name)
        return answer

    def view_cleanup(self) -> dict[str, Any]:
        """Remove index files no design document uses."""
        answer: dict[str, Any] = self.backend.view_cleanup(self.database_name)
        return answer

    def get_security_document(self) -> dict[str, Any]:
        """The ``_security`` document (``{"admins": {...}, "members": {...}}``, maybe ``{}``)."""
        security: dict[str, Any] = self.backend.get_security(self.database_name)
        return security

    def share_database(self, username: str, roles: Iterable[str] = ("_reader",)) -> dict[str, Any]:
        """Give ``username`` access: ``_admin`` in ``roles`` -> admins, else members.

        On Cloudant (a ``cloudant`` field in the security document) the user's
        roles are also set there. Returns the server's answer.
        """
        if not isinstance(username, str) or not username:
            raise ValueError("username must be a non-empty str")
        role_list = [roles] if isinstance(roles, str) else list(roles)
        unknown = [r for r in role_list if r not in _SECURITY_ROLES]
        if not role_list or unknown:
            raise ValueError(
                f"roles must be a non-empty list of {sorted(_SECURITY_ROLES)}; got {role_list!r}"
            )
        security = self.get_security_document()
        section = "admins" if "_admin" in role_list else "members"
        names = security.setdefault(section, {}).setdefault("names", [])
        if username not in names:
            names.append(username)
        if isinstance(security.get("cloudant"), dict):
            security["cloudant"][username] = role_list
        answer: dict[str, Any] = self.backend.put_security(self.database_name, security)
        return answer

    def unshare_database(self, username: str) -> dict[str, Any]:
        """Remove ``username`` from the admins, members (and Cloudant) lists."""
        security = self.get_security_document()
        for section in ("admins", "members"):
            names = security.get(section, {}).get("names")
            if isinstance(names, list) and username in names:
                names.remove(username)
        if isinstance(security.get("cloudant"), dict):
            security["cloudant"].pop(username, None)
        answer: dict[str, Any] = self.backend.put_security(self.database_name, security)
        return answer
