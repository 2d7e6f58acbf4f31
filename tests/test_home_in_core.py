"""The data home and its typed config in the bottom layer (issue 14, «Layers, enforced»):
core.home makes a home without the signing package, `sohoa init` adds the test identity
above it, and every command's start reads the home's umask and folder from core.home without
paying for the config's parser."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from core.config import ConfigError, load_config
from core.home import FOLDER_MODE, INBOX_MODE, init_home
from tests.conftest import SOHOA


def test_start_up_takes_the_home_from_core_without_the_config_parser():
    done = subprocess.run([sys.executable, "-X", "importtime", str(SOHOA), "--version"], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-500:]
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "core.home" in loaded
    assert not loaded & {"core.config", "core.durable", "core.signing_settings", "tomllib"}, sorted(loaded)


def test_init_home_makes_folders_and_config_but_no_signing_identity(tmp_path):
    from pipeline.agency import ensure_test_identity

    home, created = init_home(tmp_path / "kho")
    assert created and home.exists()
    assert stat.S_IMODE(home.archive_dir.stat().st_mode) == FOLDER_MODE
    assert stat.S_IMODE(home.inbox_dir.stat().st_mode) == INBOX_MODE
    assert home.config().signing.uses_test_identity(home.root)
    assert not (home.root / "keys").exists()  # the bottom layer knows no signing

    assert ensure_test_identity(home) is True  # what `sohoa init` does next
    assert (home.root / "keys" / "sohoa-THU-NGHIEM-khong-tin-cay.p12").is_file()
    assert ensure_test_identity(home) is False  # made once, never replaced
    assert init_home(home.root)[1] is False  # an existing config is never overwritten


@pytest.mark.parametrize(("section", "said"), [
    ('[signing]\nlevel = "B-X"\n', "[signing] level = 'B-X'"),
    ("[verify]\nrenew_within_days = -1\n", "[verify] renew_within_days không được âm"),
    ('[metadata]\nretention = "09"\n', "[metadata] retention = '09'"),
])
def test_a_wrong_setting_of_a_leafs_section_names_the_file_and_the_key(tmp_path, section, said):
    path = tmp_path / "config.toml"
    path.write_text(section, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.reason.startswith(f"{path}: ") and said in caught.value.reason, caught.value.reason
