"""python-cloudant's ``cloudant.security_document``: :class:`SecurityDocument`.

A ``dict`` of a database's ``_security`` (``admins``, ``members``, Cloudant's
``cloudant``); ``fetch()``/``save()``; as a ``with`` block it is fetched on
entry and saved on exit.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from settee.database import Database
    from settee.http.session import AuthenticatedSession

__all__ = ["SecurityDocument"]


class SecurityDocument(dict[str, Any]):
    """``SecurityDocument(database)``; nothing is requested on construction."""

    def __init__(self, database: Database) -> None:
        super().__init__()
        self._database = database

    @property
    def document_url(self) -> str:
        """The ``_security`` URL of the database."""
        return f"{self._database.database_url}/_security"

    @property
    def r_session(self) -> AuthenticatedSession | None:
        """The client's authenticated session (None before it connects)."""
        session: AuthenticatedSession | None = getattr(self._database.client, "r_session", None)
        return session

    def json(self) -> str:
        """The document as JSON text."""
        return json.dumps(dict(self))

    def fetch(self) -> None:
        """Replace the content with the stored security document."""
        stored = self._database.backend.get_security(self._database.database_name)
        self.clear()
        self.update(stored)

    def save(self) -> None:
        """Write the content as the database's security document."""
        self._database.backend.put_security(self._database.database_name, dict(self))

    def __enter__(self) -> SecurityDocument:
        self.fetch()
        return self

    def __exit__(self, *args: object) -> None:
        self.save()
