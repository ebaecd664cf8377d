"""The Django app config: label ``catalog``."""

from __future__ import annotations

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "tests.servers.rql_service"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
