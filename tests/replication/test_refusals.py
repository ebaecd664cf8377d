"""A target refusing a whole batch (401/403 for the ``_bulk_docs`` request itself).

Per-document refusals (``validate_doc_update`` throwing ``forbidden`` or
``unauthorized``, a 403/401 for that document) come from real servers and run
in the pair suite (test_pairs.py). A whole ``_bulk_docs`` refused while
``_revs_diff`` and ``_changes`` are still answered is what a read-only
credential gets - a Cloudant API key with ``_reader`` but not ``_writer``, or
a gateway in front of CouchDB that lets reads through - which no server the
suite runs can be set up to do (CouchDB's and PouchDB Server's ``_security``
grant reads and writes together). So here, and only here, the target is a
backend double: a real in-memory store whose writes raise the error that
settee's HTTP backend raises for such an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import settee
from settee import errors
from tests.replication.conftest import same_trees


class ReadOnlyWrites:
    """A real ``memory:`` backend (every read answered by it) whose writes are refused
    with ``error`` (``Unauthorized``/``Forbidden``) while ``refusing`` is set: the
    replicated documents (``_bulk_docs`` with ``new_edits=false``) when ``docs``,
    the ``_local`` checkpoint writes when ``checkpoints`` (a read-only key refuses
    both; a target may refuse only one of them)."""

    def __init__(self, error: type[errors.CouchError], *, docs: bool, checkpoints: bool) -> None:
        self._inner = settee.connect("memory:").backend
        self.error = error
        self.docs, self.checkpoints = docs, checkpoints
        self.refusing = False
        self.refused_bulk = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _refuse(self, what: str) -> None:
        status = 401 if self.error is errors.Unauthorized else 403
        raise self.error(
            f"{what}: this credential may not write",
            error="unauthorized" if status == 401 else "forbidden",
            status=status,
        )

    def bulk_docs(
        self,
        db: str,
        docs: Sequence[dict[str, Any]],
        *,
        new_edits: bool = True,
        w: int | None = None,
    ) -> list[dict[str, Any]]:
        if self.refusing and self.docs and not new_edits:
            self.refused_bulk += 1
            self._refuse("_bulk_docs")
        result: list[dict[str, Any]] = self._inner.bulk_docs(db, docs, new_edits=new_edits, w=w)
        return result

    def put_doc(self, db: str, doc: dict[str, Any], params: Any = None) -> dict[str, Any]:
        if self.refusing and self.checkpoints and str(doc.get("_id")).startswith("_local/"):
            self._refuse("PUT _local")
        result: dict[str, Any] = self._inner.put_doc(db, doc, params)
        return result


REFUSED = {"docs": (True, False), "docs+checkpoints": (True, True), "checkpoints": (False, True)}


@pytest.mark.parametrize("error", [errors.Unauthorized, errors.Forbidden])
@pytest.mark.parametrize("refused", list(REFUSED))
def test_a_refused_batch_is_counted_ends_the_run_and_is_not_checkpointed_past(
    error: type[errors.CouchError], refused: str
) -> None:
    source = settee.connect("memory:").create_database("src")
    source.bulk_docs([{"_id": f"d{i:02d}", "n": i} for i in range(30)])
    docs, checkpoints = REFUSED[refused]
    double = ReadOnlyWrites(error, docs=docs, checkpoints=checkpoints)
    target = settee.Client(backend=double).create_database("tgt")  # type: ignore[arg-type]
    seqs = [row["seq"] for row in source.changes()]

    def refuse_after_the_first_batch(result: settee.ReplicationResult) -> None:
        double.refusing = True

    result = settee.replicate(source, target, batch_size=10, progress=refuse_after_the_first_batch)
    # The run ended on the second batch, reported, not raised.
    assert not result.ok and result.error is not None and error.__name__ in result.error
    assert result.changes_read == 20
    if docs:
        assert double.refused_bulk == 1
        assert result.docs_written == 10 and result.doc_write_failures == 10
        assert [f["id"] for f in result.failures] == [f"d{i:02d}" for i in range(10, 20)]
        want = "unauthorized" if error is errors.Unauthorized else "forbidden"
        assert {f["error"] for f in result.failures} == {want}
    else:  # the documents went in; only the checkpoint after them was refused
        assert result.docs_written == 20 and result.doc_write_failures == 0
    # The checkpoint is the first batch's, on both ends, whatever the target said to it.
    assert result.recorded_seq == seqs[9]
    log_id = f"_local/{result.replication_id}"
    for end in (source, target):
        assert end.backend.get_doc(end.database_name, log_id)["source_last_seq"] == seqs[9]
    # Writes allowed again: the next run starts there and copies the rest (the
    # second batch is found already there when only its checkpoint was refused).
    double.refusing = False
    again = settee.replicate(source, target, batch_size=10)
    assert again.start_last_seq == seqs[9]
    assert again.ok and again.docs_written == (20 if docs else 10)
    same_trees(source, target)


def test_a_live_replication_stops_on_a_refused_batch() -> None:
    source = settee.connect("memory:").create_database("src")
    source.bulk_docs([{"_id": f"d{i:02d}"} for i in range(5)])
    double = ReadOnlyWrites(errors.Forbidden, docs=True, checkpoints=False)
    double.refusing = True
    target = settee.Client(backend=double).create_database("tgt")  # type: ignore[arg-type]
    live = settee.replicate(source, target, continuous=True)
    with pytest.raises(errors.Forbidden):
        live.wait(timeout=60)
    assert live.status == "error" and isinstance(live.error, errors.Forbidden)
    assert live.result.doc_write_failures == 5 and live.result.docs_written == 0
    assert live.result.recorded_seq == 0
