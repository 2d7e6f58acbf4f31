"""What the web application does once per process before its first request."""

from __future__ import annotations

from django.conf import settings


def prepare_database() -> None:
    """Bring the home's database to the current schema (every installed app's migrations,
    the catalog's adoption of an old home included), once, under core's migration lock."""
    from core.database import migrate_database

    migrate_database("default", home_root=settings.SOHOA_HOME)
