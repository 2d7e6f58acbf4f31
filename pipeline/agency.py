"""The archiving agency's name and code in config.toml: set by `sohoa init` (asked, or
from --agency-name/--agency-code) and changed by `sohoa agency set`, which also renews the
home's test signing identity so new signatures carry the new name; and the making of that
test identity for a new home."""

from __future__ import annotations

import json
import re
import unicodedata

from core.config import CONFIG_TEMPLATE
from core.durable import write_bytes_durably
from core.errors import SohoaError
from core.home import FILE_MODE, Home
from signing.identity import create_test_identity, renew_test_identity

DEFAULT_NAME = "Cơ quan chưa đặt tên"


class AgencyError(SohoaError):
    code = "agency-invalid"


def _toml_string(value: str) -> str:
    # A TOML basic string: JSON's escapes are TOML's for every character a name may hold.
    return json.dumps(unicodedata.normalize("NFC", value.strip()), ensure_ascii=False)


def set_key(text: str, section: str, key: str, value: str) -> str:
    """config.toml's text with `key = value` in [section], its comments kept; the key is
    added under the section's header when absent, the section at the end when absent."""
    header = re.search(rf"^\[{re.escape(section)}\][ \t]*$", text, flags=re.M)
    line = f"{key} = {_toml_string(value)}"
    if header is None:
        return text.rstrip("\n") + f"\n\n[{section}]\n{line}\n"
    following = re.search(r"^\[", text[header.end():], flags=re.M)
    end = header.end() + following.start() if following else len(text)
    body, count = re.subn(rf"^{re.escape(key)}[ \t]*=.*$", lambda _: line, text[header.end():end], count=1, flags=re.M)
    if not count:
        body = f"\n{line}" + body
    return text[:header.end()] + body + text[end:]


def with_agency(text: str, name: str | None, code: str | None) -> str:
    if name is not None:
        if not name.strip():
            raise AgencyError("tên cơ quan không được để trống")
        text = set_key(text, "agency", "name", name)
    if code is not None:
        text = set_key(text, "metadata", "agency_code", code)
    return text


def template_for(name: str | None, code: str | None) -> str:
    return with_agency(CONFIG_TEMPLATE, name, code)


def ensure_test_identity(home: Home) -> bool:
    """Create the embedded test signing identity when the config uses it and it is missing
    (a new home, or one made before signing existed), so the pipeline signs out of the box.
    `sohoa init` calls it after core.home.init_home made the home."""
    config = home.config()
    if not (config.signing.enabled and config.signing.uses_test_identity(home.root)):
        return False
    return create_test_identity(home.root, config.agency_name, config.records.agency_code) is not None


def set_agency(home: Home, *, name: str | None, code: str | None):
    """Write the new name and/or code into config.toml; renew the test identity when the name
    changed and the home signs with it. Returns the folder the old identity was kept in, or None."""
    before = home.config()
    text = home.config_path.read_text(encoding="utf-8")
    write_bytes_durably(home.config_path, with_agency(text, name, code).encode("utf-8"), FILE_MODE)
    after = home.config()  # the edited file must still be a valid config
    if (after.agency_name, after.records.agency_code) == (before.agency_name, before.records.agency_code):
        return None
    if not after.signing.uses_test_identity(home.root):
        return None  # a real token's certificate is the provider's to renew
    return renew_test_identity(home.root, after.agency_name, after.records.agency_code)
