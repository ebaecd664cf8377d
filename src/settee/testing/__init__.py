"""Testing apps that use settee: the pytest plugin, backend helpers and the REST mocker.

* :mod:`settee.testing.plugin` - the pytest plugin (``pytest11`` entry point
  ``settee``): ``settee_client``, ``settee_db``, ``settee_url``,
  ``settee_backend``, ``settee_reset_memory``, ``settee_rest_mock`` and the
  ``@pytest.mark.settee_backends(...)`` marker.
* :class:`RestMocker` - expected :mod:`settee.rest` calls registered by the
  same fluent path, answered in-process.
* :func:`backend_url`, :func:`unique_name`, :func:`forget_store` - the same
  without pytest.

See docs/testing.md.
"""

from __future__ import annotations

from settee.backends.memory import forget_store, store_names
from settee.testing.backends import KINDS, SERVER_URL_ENV, NoServer, backend_url, unique_name
from settee.testing.rest_mock import Expectation, RestMocker, UnexpectedCall

__all__ = [
    "KINDS",
    "SERVER_URL_ENV",
    "Expectation",
    "NoServer",
    "RestMocker",
    "UnexpectedCall",
    "backend_url",
    "forget_store",
    "store_names",
    "unique_name",
]
