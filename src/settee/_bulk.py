"""Matching a ``_bulk_docs`` answer to the documents that were sent.

A server answers one result per document. settee does not trust the order:
results are matched to documents by ``id`` (documents sent without ``_id``
take the results naming ids nobody sent, in order; an error result without
an ``id`` stands for the next document whose own id got no result). Any
other shape - not a list, a result that is not an object, a successful
result without ``id``/``rev``, too few or too many results - is a
:class:`~settee.errors.ServerError` naming what was wrong, so no document is
ever given another document's ``_id``/``_rev``.

:class:`BulkWrite` is one ``bulk_docs`` call, sans I/O: the documents checked
once, their chunks, each chunk's answer matched and given back to the
documents that were sent as objects; the sync and async databases send the
chunks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from settee import errors
from settee._validate import check_documents, check_int

__all__ = ["BulkWrite", "match_results"]


def _malformed(what: str, answer: Any) -> errors.ServerError:
    return errors.ServerError(
        f"malformed _bulk_docs answer: {what}", error="bad_response", body=answer
    )


def _check_result(result: Any, index: int, answer: Any, *, new_edits: bool) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise _malformed(f"result {index} is a {type(result).__name__}, not an object", answer)
    docid = result.get("id")
    if docid is not None and not isinstance(docid, str):
        raise _malformed(f"result {index} has a non-string id {docid!r}", answer)
    if result.get("error") is None:
        if docid is None:
            raise _malformed(f"result {index} is neither an error nor names a document", answer)
        rev = result.get("rev")
        if new_edits and (not isinstance(rev, str) or not rev):
            raise _malformed(f"result {index} (id {docid!r}) has no revision", answer)
    return result


def match_results(
    docs: Sequence[Mapping[str, Any]], answer: Any, *, new_edits: bool = True
) -> list[dict[str, Any]]:
    """``answer``'s results in the order of ``docs``; ``ServerError`` if it does not fit.

    With ``new_edits=False`` a server lists only the documents it rejected:
    each result must name a document that was sent, and their order is kept.
    """
    if not isinstance(answer, list):
        raise _malformed(f"expected a JSON array, got {type(answer).__name__}", answer)
    results = [_check_result(r, i, answer, new_edits=new_edits) for i, r in enumerate(answer)]
    ids = [doc.get("_id") if isinstance(doc.get("_id"), str) else None for doc in docs]
    sent = {docid for docid in ids if docid is not None}
    if not new_edits:
        for result in results:
            if result.get("id") is not None and result["id"] not in sent:
                raise _malformed(f"a result names {result['id']!r}, which was not sent", answer)
        if len(results) > len(docs):
            raise _malformed(f"{len(results)} results for {len(docs)} documents", answer)
        return results
    if len(results) != len(docs):
        raise _malformed(f"{len(results)} results for {len(docs)} documents", answer)
    if None not in ids and all(r.get("id") == docid for r, docid in zip(results, ids, strict=True)):
        # Every document has its id and the results name them in order (the usual
        # answer): matching by id gives this very order, so the queues are skipped.
        return results
    by_id: dict[str, deque[dict[str, Any]]] = {docid: deque() for docid in sent}
    others: deque[dict[str, Any]] = deque()
    for result in results:
        docid = result.get("id")
        if docid in by_id:
            by_id[docid].append(result)
        else:
            others.append(result)
    matched: list[dict[str, Any]] = []
    for docid in ids:
        queue = by_id[docid] if docid is not None else others
        if not queue and docid is not None and others and others[0].get("id") is None:
            queue = others  # an error result that names no id: the next one in order
        if not queue:
            raise _malformed(f"no result for document {docid!r}", answer)
        matched.append(queue.popleft())
    return matched


class BulkWrite:
    """One ``bulk_docs`` call: ``docs`` checked before any request (``TypeError`` /
    ``ValueError``), sent in chunks of ``chunk_size``.

    For each chunk from :meth:`chunks` the caller sends it and gives the answer
    to :meth:`take`; ``results`` are then those of every chunk so far, in the
    order of the documents. A document sent as an instance of ``documents``
    (the caller's document class) gets its new ``_id``/``_rev``. When sending
    fails, :meth:`failed` gives the exception the results of the chunks
    already written.
    """

    def __init__(
        self,
        docs: Iterable[Mapping[str, Any]],
        *,
        new_edits: bool,
        chunk_size: int,
        documents: type[MutableMapping[str, Any]],
    ) -> None:
        check_int("chunk_size", chunk_size, 1)
        self._originals = docs if isinstance(docs, list) else list(docs)
        self._checked = check_documents(self._originals)
        self._new_edits = new_edits
        self._chunk_size = chunk_size
        self._documents = documents
        self._start = 0
        self.results: list[dict[str, Any]] = []

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        """The checked bodies, ``chunk_size`` at a time."""
        for start in range(0, len(self._checked), self._chunk_size):
            self._start = start
            yield self._checked[start : start + self._chunk_size]

    @staticmethod
    def ids(chunk: Sequence[Mapping[str, Any]]) -> list[str]:
        """The ids ``chunk`` names (what a cache forgets before it is sent)."""
        return [docid for docid in (body.get("_id") for body in chunk) if isinstance(docid, str)]

    def take(self, chunk: Sequence[Mapping[str, Any]], answer: Any) -> None:
        """The server's ``answer`` to ``chunk``: matched (``ServerError`` if it does not
        fit), added to ``results`` and given to the documents sent as objects."""
        matched = match_results(chunk, answer, new_edits=self._new_edits)
        self.results.extend(matched)
        if not self._new_edits:
            return
        inputs = self._originals[self._start : self._start + len(chunk)]
        for original, result in zip(inputs, matched, strict=True):
            if isinstance(original, self._documents) and result.get("ok"):
                original["_id"] = result["id"]
                original["_rev"] = result["rev"]

    def failed(self, exc: errors.SetteeError) -> None:
        """Give ``exc`` (a chunk's failure) the results of the chunks already written."""
        exc.results = list(self.results)
