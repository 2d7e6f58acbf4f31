"""The one data layer: Django's ORM and migrations, over the home's SQLite file (the
embedded default) or a PostgreSQL server named in config.toml.

Django is configured here, in code, once per process (users need no settings module);
each home's database is a connection alias of its own, so one process (a test run, an
export between homes) may open several. Django is imported inside the functions, never
at module import: `sohoa --version` and `--help` must stay fast.

    [database]                      # config.toml; absent: SQLite at catalog.sqlite
    url = "postgresql://sohoa@db.local:5432/sohoa"
    password_file = "/etc/sohoa/db-password"   # or SOHOA_DATABASE_PASSWORD in the environment

The password never comes from the command line or the URL (both end up in logs and `ps`).
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.config_file import read_config
from core.errors import ConfigError, SohoaError
from core.home import Home


PASSWORD_VARIABLE = "SOHOA_DATABASE_PASSWORD"
APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions", "core"]



class DatabaseConfigError(SohoaError):
    """The home's [database] settings cannot be used; the message says why, in Vietnamese."""

    code = "database-config"


_lock = threading.Lock()
_migrated: set[str] = set()  # aliases brought up to date by this process


def configure() -> None:
    """Django's settings, once per process; a no-op when something (the web application,
    a Django test runner) configured them already with our apps installed."""
    import django
    from django.conf import settings

    with _lock:
        if settings.configured:
            return
        settings.configure(
            INSTALLED_APPS=APPS,
            DATABASES={},  # each home registers its own alias (register())
            USE_TZ=True,
            TIME_ZONE="Asia/Ho_Chi_Minh",
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
            MIGRATION_MODULES={},
        )
        django.setup()


def sqlite_settings(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # BEGIN IMMEDIATE: a writer takes the write lock when its transaction starts, so
            # several worker processes wait their turn (timeout) instead of failing with
            # "database is locked" when a read transaction tries to become a write one.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
        },
    }


def postgresql_settings(url: str, password: str | None) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise DatabaseConfigError(f"[database] url phải bắt đầu bằng postgresql:// (đang là {parts.scheme or 'trống'}://)")
    if parts.password:
        raise DatabaseConfigError(
            "[database] url không được chứa mật khẩu; đặt mật khẩu trong password_file hoặc biến môi trường "
            f"{PASSWORD_VARIABLE}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "sohoa",
        "USER": unquote(parts.username or ""),
        "PASSWORD": password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": {},
    }


def home_database_settings(home_root: Path, catalog_path: Path | None = None) -> dict:
    """The DATABASES entry of the home at home_root: its config.toml's [database], or
    SQLite at catalog_path (default: catalog.sqlite)."""
    section = {}
    home = Home(home_root)
    config = home.config_path
    try:
        section = (read_config(config) or {}).get("database") or {}
    except (OSError, ConfigError):
        pass  # no config, or one core/config.py reports on its own: the default catalog
    url = section.get("url")
    if not url:
        return sqlite_settings(catalog_path or home.catalog_path)
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None and section.get("password_file"):
        password_file = Path(section["password_file"])
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise DatabaseConfigError(
                f"{password_file}: không đọc được tệp mật khẩu cơ sở dữ liệu ({error.strerror}); "
                "kiểm tra [database] password_file trong config.toml") from error
    return postgresql_settings(url, password)


def alias_for(home_root: Path) -> str:
    return f"home:{Path(home_root).resolve()}"


def register(alias: str, database: dict) -> str:
    """Make `database` (a DATABASES entry) reachable as connections[alias]."""
    configure()
    from django.conf import settings
    from django.db import connections

    with _lock:
        if alias not in connections.settings or connections.settings[alias]["NAME"] != database["NAME"]:
            filled = connections.configure_settings({"default": {}, alias: dict(database)})[alias]
            settings.DATABASES[alias] = filled
            connections.settings[alias] = filled
    return alias


def use_home_database(home_root: Path, *, migrate: bool = True) -> str:
    """The alias of the home's database, registered and (unless migrate=False) brought to
    the current schema: a home from before Django is adopted in place (core/legacy.py)."""
    alias = register(alias_for(home_root), home_database_settings(Path(home_root)))
    if migrate:
        migrate_database(alias, home_root=Path(home_root))
    return alias


def use_catalog_database(catalog_path: Path) -> str:
    """use_home_database for core.catalog.Catalog, which is given the catalog file's
    path: its home is the folder holding it."""
    catalog_path = Path(catalog_path).resolve()
    home_root = catalog_path.parent
    database = home_database_settings(home_root, catalog_path)
    alias = register(f"home:{catalog_path if database['ENGINE'].endswith('sqlite3') else home_root}", database)
    migrate_database(alias, home_root=home_root)
    return alias


def _expected_migrations() -> set[tuple[str, str]]:
    from django.apps import apps

    expected = set()
    for app in apps.get_app_configs():
        folder = Path(app.path) / "migrations"
        for file in folder.glob("[0-9][0-9][0-9][0-9]_*.py"):
            expected.add((app.label, file.stem))
    return expected


def _up_to_date(alias: str) -> bool:
    from django.db import connections

    connection = connections[alias]
    with connection.cursor() as cursor:
        if "django_migrations" not in connection.introspection.table_names(cursor):
            return False
        cursor.execute("SELECT app, name FROM django_migrations")
        applied = {(app, name) for app, name in cursor.fetchall()}
    return _expected_migrations() <= applied


@contextmanager
def _migration_lock(alias: str, home_root: Path | None):
    """One migrating process at a time: the others wait, then find nothing left to do.
    SQLite: flock on the home's folder (never on the database file: closing a second
    descriptor of it would drop SQLite's own POSIX locks). PostgreSQL: an advisory lock."""
    from django.db import connections

    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('sohoa-migrate'))")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext('sohoa-migrate'))")
        return
    folder = home_root if home_root is not None else Path(connection.settings_dict["NAME"]).parent
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def migrate_database(alias: str, *, home_root: Path | None = None) -> None:
    if alias in _migrated:
        return
    if not _up_to_date(alias):
        from django.core.management import call_command

        from core import legacy

        with _migration_lock(alias, home_root):
            if not _up_to_date(alias):
                adopted = legacy.bring_to_adoption_point(alias, home_root)
                # fake_initial: an adopted home has 0001's tables already (checked above);
                # Django records 0001 as applied and runs only what came after.
                call_command("migrate", database=alias, fake_initial=adopted, verbosity=0,
                             interactive=False)
                legacy.mark_adoption_point(alias)
    _migrated.add(alias)


def close(alias: str) -> None:
    """Close this thread's connection to alias (Django opens one per thread)."""
    from django.db import connections

    if alias in connections.settings:
        connection = connections[alias]
        if not connection.in_atomic_block:  # a transaction of this thread's still goes on
            connection.close()


def _forget_connections_after_fork() -> None:
    # A forked child must not use (nor close: that would release the parent's SQLite
    # locks) the connections it inherited; Django opens its own on first use.
    import sys

    if "django.db" in sys.modules:
        from asgiref.local import Local
        from django.db import connections

        connections._connections = Local(connections.thread_critical)


os.register_at_fork(after_in_child=_forget_connections_after_fork)
