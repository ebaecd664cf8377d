"""What a user's mypy sees of replication."""

from __future__ import annotations

from typing_extensions import assert_type

import settee
from settee.replication import Replication, ReplicationResult, Status, WriteFailure
from settee.rows import Seq


def one_shot(a: settee.Database, b: settee.Database) -> None:
    result = settee.replicate(a, b, batch_size=50, selector={"type": "note"})
    assert_type(result, ReplicationResult)
    assert_type(result.docs_written, int)
    assert_type(result.end_last_seq, Seq)
    assert_type(result.failures, list[WriteFailure])
    assert_type(a.replicate_to(b), ReplicationResult)
    assert_type(a.replicate_from(b, create_target=True), ReplicationResult)
    assert_type(settee.sync(a, b), tuple[ReplicationResult, ReplicationResult])
    a.replicate_to(b, batchsize=5)  # type: ignore[call-overload]
    settee.replicate(a, b, batchsize=5)  # type: ignore[call-overload]


def live(a: settee.Database, b: settee.Database) -> None:
    handle = settee.replicate(a, b, continuous=True)
    assert_type(handle, Replication)
    assert_type(handle.status, Status)
    assert_type(a.replicate_to(b, continuous=True), Replication)
    assert_type(settee.sync(a, b, continuous=True), tuple[Replication, Replication])
    assert_type(handle.stop(), ReplicationResult)
