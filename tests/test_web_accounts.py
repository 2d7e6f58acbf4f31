"""Users and logging in: `sohoa user` through the real CLI (passwords never on the command
line), the login and logout pages, lockout after repeated failures, the idle timeout, the
security headers, CSRF, the 403 for a user without a role, and the admin in Vietnamese."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import include, path

from core.confidentiality import Level
from core.roles import Role
from tests.conftest import SOHOA, json_lines, run_sohoa
from tests.web_support import make_user, use_web_home
from web.permissions import Action, require

PASSWORD = "cây-đa-đầu-làng-2024"


# A page only a cán bộ and up may open, for the role rules and the session tests (the
# search page is another helper's; this one depends on nothing but web.permissions).
@require(Action.SEARCH)
def _guarded(request):
    from django.http import HttpResponse

    return HttpResponse("được vào")


urlpatterns = [path("thu-quyen/", _guarded), path("", include("web.urls"))]
HERE = override_settings(ROOT_URLCONF=__name__)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("accounts") / "sohoa-data"
    assert run_sohoa(root, "init").returncode == 0
    return root


@pytest.fixture(autouse=True)
def _web(home):
    use_web_home(home)
    from axes.utils import reset

    reset()  # no lockout carried from one test to the next
    # Users made here in-process hash quickly (a million PBKDF2 rounds per login would cost
    # minutes); those made by the real CLI keep PBKDF2, and still log in.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher",
                                             "django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        yield


def sohoa_user(home: Path, *args: str, stdin: str | None = None, env: dict | None = None):
    environment = {k: v for k, v in os.environ.items() if k not in ("SOHOA_HOME", "SOHOA_PASSWORD")}
    environment.update(env or {})
    return subprocess.run([str(SOHOA), "--home", str(home), "user", *args], input=stdin if stdin is not None else "",
                          capture_output=True, text=True, env=environment, timeout=120)


def login(client: Client, username: str, password: str, **extra):
    return client.post("/dang-nhap/", {"username": username, "password": password}, **extra)


# -- sohoa user ----------------------------------------------------------------------------


def test_user_add_reads_the_password_from_stdin_and_creates_the_profile(home):
    from django.contrib.auth.models import User

    from core.models import StaffProfile

    done = sohoa_user(home, "add", "lan", "--role", "cán-bộ", "--clearance", "mật", "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "lan: cán bộ" in done.stdout and PASSWORD not in done.stdout + done.stderr
    user = User.objects.get(username="lan")
    # stored hashed (PBKDF2), never as typed (checked before check_password rehashes it)
    assert user.password.startswith("pbkdf2_sha256$") and PASSWORD not in user.password
    assert user.check_password(PASSWORD) and not user.is_staff and not user.is_superuser
    profile = StaffProfile.objects.get(user=user)
    assert (profile.role, profile.clearance) == (Role.CAN_BO.value, int(Level.MAT))
    assert login(Client(), "lan", PASSWORD).status_code == 302


def test_user_add_takes_the_password_from_the_environment_and_gives_the_administrator_the_admin(home):
    from django.contrib.auth.models import User

    done = sohoa_user(home, "add", "quantri-env", "--role", "quan-tri", "--clearance", "tuyet-mat", "--json",
                      env={"SOHOA_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    said = json_lines(done.stdout)[0]
    assert said == {**said, "username": "quantri-env", "role": "quản-trị", "clearance": "tuyệt-mật", "admin": True}
    user = User.objects.get(username="quantri-env")
    assert user.is_staff and user.is_superuser and user.check_password(PASSWORD)
    # and losing the role loses Django's admin
    assert sohoa_user(home, "set", "quantri-env", "--role", "cán-bộ").returncode == 0
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser


def test_a_password_on_the_command_line_is_refused_and_not_offered(home):
    from django.contrib.auth.models import User

    for argv in (["--password", PASSWORD], [f"--password={PASSWORD}"], ["--pass", PASSWORD]):
        done = sohoa_user(home, "add", "kẻ-lạ", "--role", "cán-bộ", *argv, stdin=PASSWORD + "\n")
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
    assert not User.objects.filter(username="kẻ-lạ").exists()
    for command in ("add", "password"):
        shown = sohoa_user(home, command, "--help").stdout
        assert set(re.findall(r"--pass[\w-]*", shown)) == {"--password-stdin"}, shown


def test_django_s_password_rules_apply_and_are_said_in_vietnamese(home):
    from django.contrib.auth.models import User

    done = sohoa_user(home, "add", "minh", "--role", "cán-bộ", stdin="123456\n")
    assert done.returncode == 1
    assert "Mật khẩu quá ngắn: cần ít nhất 10 ký tự" in done.stderr and "hoàn toàn là số" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not User.objects.filter(username="minh").exists()
    common = sohoa_user(home, "add", "minh", "--role", "cán-bộ", stdin="password123\n")
    assert common.returncode == 1 and "quá phổ biến" in common.stderr
    wrong_role = sohoa_user(home, "add", "minh", "--role", "giám-đốc", stdin=PASSWORD + "\n")
    assert wrong_role.returncode == 1 and "văn-thư, cán-bộ, lưu-trữ, quản-trị" in wrong_role.stderr
    assert not User.objects.filter(username="minh").exists()


def test_user_list_set_and_password(home):
    assert sohoa_user(home, "add", "hoa", "--role", "văn-thư", stdin=PASSWORD + "\n").returncode == 0
    again = sohoa_user(home, "add", "hoa", "--role", "văn-thư", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "đã có người dùng «hoa»" in again.stderr

    changed = sohoa_user(home, "set", "hoa", "--role", "lưu-trữ", "--clearance", "tối-mật", "--json")
    assert changed.returncode == 0, changed.stderr
    listed = {u["username"]: u for u in json_lines(sohoa_user(home, "list", "--json").stdout)[0]}
    assert listed["hoa"] == {**listed["hoa"], "role": "lưu-trữ", "clearance": "tối-mật", "active": True}
    assert "hoa: lưu trữ viên, mức mật được xem: tối mật" in sohoa_user(home, "list").stdout

    new_password = "bầu-ơi-thương-lấy-bí-cùng"
    assert sohoa_user(home, "password", "hoa", stdin=new_password + "\n").returncode == 0
    assert login(Client(), "hoa", PASSWORD).status_code == 200  # the old one: the form again
    assert login(Client(), "hoa", new_password).status_code == 302

    assert sohoa_user(home, "set", "hoa", "--disable").returncode == 0
    assert "ĐÃ KHÓA" in sohoa_user(home, "list").stdout
    refused = login(Client(), "hoa", new_password)
    assert refused.status_code == 200 and "_auth_user_id" not in refused.client.session
    assert sohoa_user(home, "set", "hoa", "--enable").returncode == 0
    assert login(Client(), "hoa", new_password).status_code == 302

    missing = sohoa_user(home, "password", "không-ai", stdin=new_password + "\n")
    assert missing.returncode == 1 and "không có người dùng «không-ai»" in missing.stderr


# -- logging in and out --------------------------------------------------------------------


@HERE
def test_login_goes_where_the_user_was_going_and_logout_ends_the_session():
    make_user("ngoc", Role.CAN_BO, password=PASSWORD)
    client = Client()
    page = client.get("/thu-quyen/")
    assert page.status_code == 302 and page["Location"] == "/dang-nhap/?next=/thu-quyen/"
    form = client.get(page["Location"])
    assert form.status_code == 200
    text = form.content.decode()
    assert "Tên đăng nhập" in text and "Mật khẩu" in text and 'lang="vi"' in text
    done = client.post("/dang-nhap/", {"username": "ngoc", "password": PASSWORD, "next": "/thu-quyen/"})
    assert done.status_code == 302 and done["Location"] == "/thu-quyen/"
    assert client.get("/thu-quyen/").content.decode() == "được vào"

    assert client.get("/dang-xuat/").status_code == 405  # a link or an image cannot log out
    out = client.post("/dang-xuat/", follow=True)
    assert out.redirect_chain[-1][0] == "/dang-nhap/" and "Bạn đã đăng xuất." in out.content.decode()
    assert client.get("/thu-quyen/").status_code == 302


@HERE
def test_a_wrong_password_is_said_in_vietnamese():
    make_user("phuong", Role.CAN_BO, password=PASSWORD)
    page = login(Client(), "phuong", "không-phải-mật-khẩu")
    assert page.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in page.content.decode()
    empty = login(Client(), "", "")
    assert "Hãy nhập tên đăng nhập." in empty.content.decode() and "Hãy nhập mật khẩu." in empty.content.decode()


@HERE
def test_five_failures_lock_the_name_out_until_the_cool_off_has_passed(home):
    from axes.models import AccessAttempt
    from django.conf import settings

    make_user("quang", Role.CAN_BO, password=PASSWORD)
    client = Client()
    answers = [login(client, "quang", f"sai-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]
    assert answers[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1) and answers[-1] == 429
    locked = login(client, "quang", PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Tạm khóa đăng nhập" in text and "15 phút" in text and re.search(r"thử lại sau \d\d:\d\d ngày", text)
    assert "_auth_user_id" not in client.session
    # Another name from the same address is not locked.
    make_user("quyen", Role.CAN_BO, password=PASSWORD)
    assert login(Client(), "quyen", PASSWORD).status_code == 302

    # The cool-off passes: the attempts are now older than AXES_COOLOFF_TIME (0.25 h).
    AccessAttempt.objects.filter(username="quang").update(
        attempt_time=AccessAttempt.objects.get(username="quang").attempt_time - timedelta(minutes=16))
    assert login(client, "quang", PASSWORD).status_code == 302


@HERE
def test_a_new_password_from_the_administrator_lifts_the_lockout(home):
    make_user("son", Role.CAN_BO, password=PASSWORD)
    for n in range(5):
        login(Client(), "son", f"sai-{n}")
    assert login(Client(), "son", PASSWORD).status_code == 429
    new_password = "gió-đưa-cành-trúc-la-đà"
    assert sohoa_user(home, "password", "son", stdin=new_password + "\n").returncode == 0
    assert login(Client(), "son", new_password).status_code == 302


@HERE
def test_a_session_left_idle_ends():
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    make_user("tam", Role.CAN_BO, password=PASSWORD)
    with override_settings(SESSION_COOKIE_AGE=60):
        client = Client()
        assert login(client, "tam", PASSWORD).status_code == 302
        key = client.cookies["sessionid"].value
        left = (Session.objects.get(session_key=key).expire_date - timezone.now()).total_seconds()
        assert 50 < left <= 60
        # Each request starts the idle time again...
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=5))
        assert client.get("/thu-quyen/").status_code == 200
        assert (Session.objects.get(session_key=key).expire_date - timezone.now()).total_seconds() > 50
        # ...and a minute without one ends the session.
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
        assert client.get("/thu-quyen/").status_code == 302
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST


# -- headers, CSRF, roles ------------------------------------------------------------------


@HERE
def test_security_headers_and_no_secure_cookie_without_https():
    page = Client().get("/dang-nhap/")
    policy = page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert "<script>" not in page.content.decode() and " style=" not in page.content.decode()
    make_user("uyen", Role.CAN_BO, password=PASSWORD)
    done = login(Client(), "uyen", PASSWORD)
    assert done.cookies["sessionid"]["httponly"] and not done.cookies["sessionid"]["secure"]


def test_behind_https_the_cookies_are_secure_and_hsts_is_sent(home, monkeypatch):
    from web.settings import web_settings

    monkeypatch.setenv("SOHOA_HTTPS", "1")
    https = web_settings(home)
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS")
    assert https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"]
    with override_settings(ROOT_URLCONF=__name__, **{name: https[name] for name in names}):
        make_user("vinh", Role.CAN_BO, password=PASSWORD)
        client = Client()
        # as nginx forwards it: the proxy says the browser came over HTTPS
        form = client.get("/dang-nhap/", HTTP_X_FORWARDED_PROTO="https")
        assert form["Strict-Transport-Security"].startswith("max-age=31536000")
        assert form.cookies["csrftoken"]["secure"]
        done = login(client, "vinh", PASSWORD, HTTP_X_FORWARDED_PROTO="https")
        assert done.status_code == 302 and done.cookies["sessionid"]["secure"]
        assert done.cookies["sessionid"]["httponly"] and done.cookies["sessionid"]["samesite"] == "Lax"


@HERE
def test_login_requires_the_csrf_token():
    make_user("xuan", Role.CAN_BO, password=PASSWORD)
    client = Client(enforce_csrf_checks=True)
    refused = login(client, "xuan", PASSWORD)
    assert refused.status_code == 403 and "Không gửi được biểu mẫu" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    form = client.get("/dang-nhap/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode()).group(1)
    done = client.post("/dang-nhap/", {"username": "xuan", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert done.status_code == 302


@HERE
@pytest.mark.parametrize("role, superuser, allowed", [
    (None, False, False), (Role.VAN_THU, False, False), (Role.CAN_BO, False, True),
    (Role.LUU_TRU, False, True), (None, True, True),
])
def test_only_roles_that_may_search_get_past_require(role, superuser, allowed):
    name = f"nguoi-{role.value if role else 'khong'}-{int(superuser)}"
    user = make_user(name, role, password=PASSWORD)
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    client = Client()
    assert login(client, name, PASSWORD).status_code == 302
    page = client.get("/thu-quyen/")
    assert page.status_code == (200 if allowed else 403)
    if not allowed:  # said in Vietnamese, with what the user lacks
        said = "Vai trò của bạn (văn thư)" if role else "chưa được giao vai trò"
        assert "Không có quyền" in page.content.decode() and said in page.content.decode()


# -- the admin -----------------------------------------------------------------------------


def test_the_admin_is_in_vietnamese_and_for_administrators_only(home):
    assert sohoa_user(home, "add", "quantri-admin", "--role", "quản-trị", stdin=PASSWORD + "\n").returncode == 0
    make_user("yen", Role.LUU_TRU, password=PASSWORD)
    staff = Client()
    assert login(staff, "yen", PASSWORD).status_code == 302
    assert staff.get("/quan-tri/").status_code == 302  # to the admin's login: not for them

    admin = Client()
    assert login(admin, "quantri-admin", PASSWORD).status_code == 302
    index = admin.get("/quan-tri/")
    text = index.content.decode()
    assert index.status_code == 200 and "Quản trị sohoa" in text
    assert "Nhật ký truy cập" in text and "Mã API" in text and "Đổi mật khẩu" in text  # Django's vi
    from django.contrib.auth.models import User

    user = User.objects.get(username="yen")
    change = admin.get(f"/quan-tri/auth/user/{user.pk}/change/").content.decode()
    assert "Vai trò và mức mật" in change and "lưu trữ viên" in change
    assert admin.get("/quan-tri/core/accesslogentry/add/").status_code == 403  # never written here
    assert admin.get("/quan-tri/core/accesslogentry/").status_code == 200


def test_behind_the_proxy_the_lockout_is_per_browser_address():
    from axes.models import AccessAttempt

    proxied = {"HTTP_X_FORWARDED_PROTO": "https"}
    with override_settings(ROOT_URLCONF=__name__, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        make_user("thu", Role.CAN_BO, password=PASSWORD)
        for n in range(5):
            login(Client(), "thu", f"sai-{n}", HTTP_X_REAL_IP="10.0.0.7", **proxied)
        assert AccessAttempt.objects.get(username="thu").ip_address == "10.0.0.7"
        assert login(Client(), "thu", PASSWORD, HTTP_X_REAL_IP="10.0.0.7", **proxied).status_code == 429
        # the same name from another desk in the office still logs in
        assert login(Client(), "thu", PASSWORD, HTTP_X_REAL_IP="10.0.0.8", **proxied).status_code == 302
    # Not behind the proxy (SOHOA_HTTPS unset): the header is anyone's to write, never believed.
    make_user("thao", Role.CAN_BO, password=PASSWORD)
    for n in range(5):
        login(Client(), "thao", f"sai-{n}", HTTP_X_REAL_IP=f"10.0.1.{n}")
    assert login(Client(), "thao", PASSWORD, HTTP_X_REAL_IP="10.0.1.99").status_code == 429
