"""The web application in tests: Django configured as `sohoa serve` configures it, a home
of its own per fixture, users of each role and clearance, and a small real archive whose
documents carry each confidentiality level.

The test process is configured with the web's settings at start (tests/conftest.py), so
the catalog code other tests run in-process sees the same installed apps as the web.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.confidentiality import Level
from core.roles import Role


def configure_django_for_tests() -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    from web.settings import web_settings

    # A throwaway home for the settings' own defaults (secret key); every web test points
    # the default database at its own home (use_web_home).
    holder = Path(tempfile.mkdtemp(prefix="sohoa-web-settings-"))
    values = web_settings(holder)
    values["DEBUG"] = False
    settings.configure(**values)
    django.setup()


def use_web_home(home: Path) -> None:
    """Point the web application (Django's default database) at this home, at the current
    schema, as `sohoa serve --home HOME` does."""
    from django.conf import settings
    from django.db import connections

    from core.database import home_database_settings, migrate_database, register

    if "default" in connections.settings:
        connections["default"].close()
        try:
            del connections["default"]
        except (AttributeError, KeyError):
            pass
    register("default", home_database_settings(home))
    settings.SOHOA_HOME = Path(home).resolve()
    from core import database

    database._migrated.discard("default")
    migrate_database("default", home_root=Path(home))


def make_user(username: str, role: Role | None, clearance: Level = Level.THUONG, password: str = "mật-khẩu-thử-nghiệm"):
    from django.contrib.auth.models import User

    from core.models import StaffProfile

    user = User.objects.create_user(username=username, password=password)
    if role is not None:
        StaffProfile.objects.create(user=user, role=role.value, clearance=int(clearance))
    return user


@dataclass(frozen=True)
class WebArchive:
    """A home with one archived document per confidentiality level; `ids[level]` is its id.
    Every document's text holds SHARED_WORD (the motto "Độc lập - Tự do - Hạnh phúc" of every
    header); each document has words of its own (its fixture's subject)."""

    home: Path
    ids: dict[Level, int]


SHARED_WORD = "hạnh phúc"


@pytest.fixture(scope="session")
def web_archive(tmp_path_factory) -> WebArchive:
    from tests.conftest import json_lines, run_sohoa
    from tests.fixtures import scans

    home = tmp_path_factory.mktemp("web") / "sohoa-data"
    folder = tmp_path_factory.mktemp("web-scans")
    assert run_sohoa(home, "init").returncode == 0
    config = home / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("sign = true", "sign = false"), encoding="utf-8")
    names = {Level.THUONG: "ke_hoach_42", Level.MAT: "cong_van_268", Level.TOI_MAT: "quyet_dinh_15",
             Level.TUYET_MAT: "thong_bao_05"}
    paths = []
    for level, name in names.items():
        paths.append(scans.write_png(folder / f"{level.slug}.png", scans.render_page(name)))
    done = run_sohoa(home, "ingest", "--json", *map(str, paths))
    assert done.returncode == 0, done.stderr
    ids = {level: result["id"] for level, result in zip(names, json_lines(done.stdout))}
    for level, doc_id in ids.items():
        if level != Level.THUONG:
            changed = run_sohoa(home, "set", str(doc_id), f"confidentiality={level.slug}")
            assert changed.returncode == 0, changed.stderr
    return WebArchive(home=home, ids=ids)
