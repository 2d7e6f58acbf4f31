"""The data home: one folder holding the config, catalog, archive, index and inboxes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import CONFIG_TEMPLATE, Config, load_config
from pipeline.durable import write_bytes_durably
from signing.identity import create_test_identity


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def inbox_dir(self) -> Path:
        return self.root / "inbox"

    @property
    def failed_dir(self) -> Path:
        return self.root / "failed"

    @property
    def staging_dir(self) -> Path:
        # Inside the home, so the final rename into archive/ is on the same file system
        # and therefore atomic.
        return self.root / "tmp"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def config(self) -> Config:
        return load_config(self.config_path)


def init_home(root: Path) -> tuple[Home, bool]:
    """Create the home's folders and a commented config; never overwrite an existing one.

    Returns the home and whether the config was newly written.
    """
    home = Home(root)
    for folder in (home.root, home.archive_dir, home.index_dir, home.inbox_dir, home.failed_dir, home.staging_dir):
        folder.mkdir(parents=True, exist_ok=True)
    created = not home.config_path.exists()
    if created:
        write_bytes_durably(home.config_path, CONFIG_TEMPLATE.encode("utf-8"))
    ensure_test_identity(home)
    return home, created


def ensure_test_identity(home: Home) -> bool:
    """Create the embedded test signing identity when the config uses it and it is missing
    (a new home, or one made before signing existed), so the pipeline signs out of the box."""
    config = home.config()
    if not (config.signing.enabled and config.signing.uses_test_identity(home.root)):
        return False
    return create_test_identity(home.root, config.agency_name) is not None
