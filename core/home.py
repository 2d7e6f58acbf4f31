"""The data home: one folder holding the config, catalog, archive, index and inboxes."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

# Only the standard library at import: every `sohoa` command (even --help) reads UMASK and
# resolves the home from here first; the config's parser and durable writes are loaded
# when a home is read or made. (TYPE_CHECKING without importing typing, which costs more
# than the rest of this module; type checkers take the name as True wherever it is defined.)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from core.config import Config

# The home holds every page's text (catalog.sqlite), the archive and the log: readable by
# the service's user and group only, never by "others" (umask 022 made all of it
# world-readable). Every sohoa command runs under UMASK; the modes are also set where the
# home is created. The inbox folders are the exception the clerks need: their group writes
# there, and setgid keeps what they drop in that group (README, «Chạy như một dịch vụ»).
UMASK = 0o027
FOLDER_MODE = 0o750
FILE_MODE = 0o640
INBOX_MODE = 0o2770

DEFAULT_HOME = Path("sohoa-data")
HOME_ENV = "SOHOA_HOME"


def resolve_home(option: str | None) -> Path:
    """--home wins, then $SOHOA_HOME, then ./sohoa-data."""
    if option:
        return Path(option).expanduser().absolute()
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().absolute()
    return DEFAULT_HOME.absolute()


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
        from core.config import load_config

        return load_config(self.config_path)


def init_home(root: Path, config_text: str | None = None) -> tuple[Home, bool]:
    """Create the home's folders and a commented config (config_text: CONFIG_TEMPLATE with
    the agency's name and code filled in, the template itself by default); never overwrite an
    existing one. The test signing identity the config names is the caller's to make
    (pipeline.agency.ensure_test_identity): the bottom layer knows no signing.

    Returns the home and whether the config was newly written.
    """
    home = Home(root)
    home.root.parent.mkdir(parents=True, exist_ok=True)
    for folder in (home.root, home.archive_dir, home.index_dir, home.failed_dir, home.staging_dir):
        make_folder(folder, FOLDER_MODE)
    if not make_folder(home.inbox_dir, INBOX_MODE):
        _keep_inbox_mode_of(home.inbox_dir)
    created = not home.config_path.exists()
    if created:
        from core.config import CONFIG_TEMPLATE
        from core.durable import write_bytes_durably

        text = CONFIG_TEMPLATE if config_text is None else config_text
        write_bytes_durably(home.config_path, text.encode("utf-8"), FILE_MODE)
    return home, created


def make_folder(path: Path, mode: int) -> bool:
    """Create the folder with exactly `mode` (mkdir leaves out what the umask masks, and
    setgid); an existing one is left as it is. Returns whether it was created."""
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return True


def keep_inbox_mode(fd: int) -> None:
    """An inbox folder (open as fd): the group may write and setgid is on, others get nothing."""
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    wanted = (mode | INBOX_MODE) & ~0o007
    if wanted != mode:
        try:
            os.fchmod(fd, wanted)
        except OSError:
            # Not ours to change (owned by the administrator, or a share mounted there whose
            # modes come from its mount options): as the administrator left it.
            pass


def _keep_inbox_mode_of(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # a link or not a folder: the watch service refuses it, saying why
        return
    try:
        keep_inbox_mode(fd)
    finally:
        os.close(fd)


def tighten_modes(root: Path) -> int:
    """Take every permission of "others" away from root and everything below it (a home
    made by an older release under umask 022 is world-readable), like `chmod -R o-rwx`
    but never through a symbolic link: a clerk may swap a name in the inbox for one at
    any moment. Returns how many files and folders were changed."""
    changed = 0
    # The home's own path is the operator's, and may be a link (/srv/sohoa -> /data/sohoa):
    # resolved; below it nothing is followed.
    for _, _, names, folder in os.fwalk(Path(root).resolve()):
        changed += _drop_others(folder)
        for name in names:
            try:
                fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            except OSError:  # gone meanwhile, or a link to a folder
                continue
            try:
                if not stat.S_ISLNK(os.fstat(fd).st_mode):
                    changed += _drop_others(fd)
            finally:
                os.close(fd)
    return changed


def _drop_others(fd: int) -> int:
    mode = os.fstat(fd).st_mode
    if not mode & 0o007:
        return 0
    # Through /proc the very file that was opened is changed, whatever its name is now (a
    # descriptor opened O_PATH, which is all a file without read permission allows, cannot
    # be fchmod'ed).
    try:
        os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(mode) & ~0o007)
    except OSError:
        # Not ours (a clerk's file, when not run as root), or on a share mounted in the
        # inbox whose modes come from its mount options: left as it is.
        return 0
    return 1
