"""The docs pages' examples use settee.testing's marker (docs/testing.md): load the plugin
unless settee is installed with its pytest11 entry point (then pytest already has it)."""

from __future__ import annotations

from importlib.metadata import entry_points

_REGISTERED = any(ep.value == "settee.testing.plugin" for ep in entry_points(group="pytest11"))

pytest_plugins = [] if _REGISTERED else ["settee.testing.plugin"]
