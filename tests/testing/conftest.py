"""pytester (loaded by addopts in pyproject.toml) for the settee.testing plugin's own tests.

The plugin is loaded with ``-p settee.testing.plugin`` in the inner runs,
unless settee is installed with its ``pytest11`` entry point (then pytest
loads it itself and a second ``-p`` would register it twice).
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

_REGISTERED = any(ep.value == "settee.testing.plugin" for ep in entry_points(group="pytest11"))

#: Arguments that load the plugin in an inner pytest run.
PLUGIN_ARGS: tuple[str, ...] = () if _REGISTERED else ("-p", "settee.testing.plugin")

INI = """
[pytest]
addopts = --strict-markers --strict-config
filterwarnings = error
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester with settee's strict ini."""
    pytester.makeini(INI)
    return pytester
