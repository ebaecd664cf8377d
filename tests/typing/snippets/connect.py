"""What a user's mypy sees of connecting: every keyword option is typed."""

from __future__ import annotations

from typing_extensions import assert_type

import settee
import settee.aio
from settee.aio.client import AsyncClient


def options() -> None:
    client = settee.connect("memory:", timeout=5, max_retries=2, headers={"X-App": "a"})
    assert_type(client, settee.Client)
    settee.connect("sqlite:///app.db", busy_timeout=10.0, read_only=True)
    settee.Client("http://127.0.0.1:5984", ("admin", "pw"), verify=False, retry_post=True)
    settee.connect("memory:", timout=5)  # type: ignore[call-arg]
    settee.connect("memory:", max_retries="3")  # type: ignore[arg-type]
    settee.Client("memory:", verify_ssl=False)  # type: ignore[call-arg]


async def aio_options() -> None:
    client = await settee.aio.connect("memory:", timeout=(1, 2), backoff_factor=0.1)
    assert_type(client, AsyncClient)
    settee.aio.connect("memory:", retries=3)  # type: ignore[call-arg]
