"""A page or document not there (or not for this user) answers in Vietnamese, inside the
site's frame, and says the same for both."""

from __future__ import annotations

from django.test import Client

from core.confidentiality import Level
from core.roles import Role
from tests.web_support import make_user, use_web_home, web_archive  # noqa: F401


def test_a_missing_page_and_a_secret_document_answer_alike_in_vietnamese(web_archive):  # noqa: F811
    use_web_home(web_archive.home)
    client = Client()
    client.force_login(make_user("khong-thay-1", Role.CAN_BO, Level.THUONG))
    missing = client.get("/khong-co-trang-nay/")
    secret = client.get(f"/tai-lieu/{web_archive.ids[Level.TUYET_MAT]}/")
    assert missing.status_code == secret.status_code == 404
    for answer in (missing, secret):
        text = answer.content.decode()
        assert "Không tìm thấy" in text and 'lang="vi"' in text and "Not Found" not in text
    assert missing.content.decode().split("<main")[1] == secret.content.decode().split("<main")[1]
