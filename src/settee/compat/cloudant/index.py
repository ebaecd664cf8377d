"""python-cloudant's ``cloudant.index``: Mango indexes as objects.

:class:`Index` (``type: json``), :class:`TextIndex` (``type: text``,
Cloudant/search servers) and :class:`SpecialIndex` (the built-in
``_all_docs`` index: it cannot be created or deleted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from settee.compat.cloudant.document import encode
from settee.compat.cloudant.error import CloudantArgumentError, CloudantIndexException
from settee.queries import ddoc_name

if TYPE_CHECKING:
    from settee.compat.cloudant.database import CouchDatabase

__all__ = ["Index", "SpecialIndex", "TextIndex"]


class Index:
    """``Index(database, design_document_id=None, name=None, partitioned=None, **kwargs)``:
    ``kwargs`` is the definition (``fields=[...]``, ``partial_filter_selector``)."""

    _type = "json"

    def __init__(
        self,
        database: CouchDatabase,
        design_document_id: str | None = None,
        name: str | None = None,
        partitioned: bool | None = None,
        **kwargs: Any,
    ) -> None:
        self._database = database
        self._ddoc_id = design_document_id
        self._name = name
        self._type = type(self)._type
        self._partitioned = partitioned
        self._def: dict[str, Any] = kwargs

    @property
    def index_url(self) -> str:
        """The database's ``_index`` URL."""
        return f"{self._database.database_url}/_index"

    @property
    def design_document_id(self) -> str | None:
        """The design document holding the index."""
        return self._ddoc_id

    @property
    def name(self) -> str | None:
        """The index name."""
        return self._name

    @property
    def type(self) -> str:
        """``json``, ``text`` or ``special``."""
        return self._type

    @property
    def definition(self) -> dict[str, Any]:
        """The index definition (``fields``...)."""
        return self._def

    @property
    def partitioned(self) -> bool | None:
        """Whether it is a partitioned index (None: the database's default)."""
        return self._partitioned

    def as_a_dict(self) -> dict[str, Any]:
        """``{"ddoc", "name", "type", "def"}`` (and ``partitioned`` when set)."""
        index: dict[str, Any] = {
            "ddoc": self._ddoc_id,
            "name": self._name,
            "type": self._type,
            "def": self._def,
        }
        if self._partitioned is not None:
            index["partitioned"] = self._partitioned
        return index

    def _def_check(self) -> None:
        """A JSON index takes ``fields`` (and CouchDB's ``partial_filter_selector``):
        ``CloudantArgumentError(124)`` naming any other argument."""
        extra = [key for key in self._def if key not in ("fields", "partial_filter_selector")]
        if extra:
            raise CloudantArgumentError(124, extra)

    def create(self) -> None:
        """Create the index; ``design_document_id`` and ``name`` are set from the answer."""
        if self._ddoc_id is not None and not isinstance(self._ddoc_id, str):
            raise CloudantArgumentError(122, self._ddoc_id)
        if self._name is not None and not isinstance(self._name, str):
            raise CloudantArgumentError(123, self._name)
        self._def_check()
        payload: dict[str, Any] = {"type": self._type, "index": self._def}
        if self._ddoc_id:
            payload["ddoc"] = ddoc_name(self._ddoc_id)
        if self._name:
            payload["name"] = self._name
        if self._partitioned is not None:
            payload["partitioned"] = bool(self._partitioned)
        payload = encode(payload, getattr(self._database.client, "encoder", None))
        answer = self._database.backend.create_index(self._database.database_name, payload)
        self._ddoc_id = str(answer["id"])
        self._name = str(answer["name"])

    def delete(self) -> None:
        """Delete the index; ``CloudantArgumentError`` 125/126 without a design
        document id or a name."""
        if not self._ddoc_id:
            raise CloudantArgumentError(125)
        if not self._name:
            raise CloudantArgumentError(126)
        self._database.backend.delete_index(
            self._database.database_name,
            ddoc_name(self._ddoc_id),
            self._name,
            index_type=self._type,
        )


class TextIndex(Index):
    """A ``type: text`` index (Cloudant, or CouchDB with search): definition keys
    ``fields``, ``default_field``, ``index_array_lengths``, ``selector``, ``analyzer``."""

    _type = "text"

    def __init__(
        self,
        database: CouchDatabase,
        design_document_id: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(database, design_document_id, name, **kwargs)

    def _def_check(self) -> None:
        allowed = {
            "fields": list,
            "default_field": dict,
            "index_array_lengths": bool,
            "selector": dict,
            "analyzer": (str, dict),
            "partial_filter_selector": dict,
        }
        for key, value in self._def.items():
            if key not in allowed:
                raise CloudantArgumentError(127, key)
            if not isinstance(value, allowed[key]):  # type: ignore[arg-type]
                raise CloudantArgumentError(128, key, allowed[key])


class SpecialIndex(Index):
    """The ``_all_docs`` index every database has: ``create``/``delete`` raise
    ``CloudantIndexException`` 101/102."""

    _type = "special"

    def __init__(
        self,
        database: CouchDatabase,
        design_document_id: str | None = None,
        name: str = "_all_docs",
        **kwargs: Any,
    ) -> None:
        super().__init__(database, design_document_id, name, **kwargs)

    def create(self) -> None:
        """``CloudantIndexException(101)``."""
        raise CloudantIndexException(101)

    def delete(self) -> None:
        """``CloudantIndexException(102)``."""
        raise CloudantIndexException(102)
