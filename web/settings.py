"""Django's settings for the web application, built for one data home.

`web_settings(home)` is the one definition; this module applies it for the home named by
$SOHOA_HOME when Django loads it as DJANGO_SETTINGS_MODULE (gunicorn, `sohoa serve`), and
tests pass the dict to settings.configure(). The catalog, users, sessions and access log
are one schema in the home's database (core/models.py, one migration history).

Secrets never come from argv: the session-signing key is the home's `web-secret-key` file
(mode 0600, made on first start) or $SOHOA_SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.database import APPS, home_database_settings

SECRET_KEY_FILE = "web-secret-key"
SECRET_KEY_VARIABLE = "SOHOA_SECRET_KEY"
# Behind a reverse proxy with HTTPS (README «Chạy sau proxy HTTPS»): secure cookies, HSTS,
# and the proxy's X-Forwarded-Proto trusted.
HTTPS_VARIABLE = "SOHOA_HTTPS"
HOSTS_VARIABLE = "SOHOA_ALLOWED_HOSTS"
IDLE_MINUTES = 30  # a session left alone this long ends (SESSION_SAVE_EVERY_REQUEST)


def secret_key(home_root: Path) -> str:
    from_environment = os.environ.get(SECRET_KEY_VARIABLE)
    if from_environment:
        return from_environment
    path = Path(home_root) / SECRET_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def web_settings(home_root: Path, *, debug: bool = False) -> dict:
    home_root = Path(home_root).resolve()
    https = os.environ.get(HTTPS_VARIABLE, "") not in ("", "0", "false", "no")
    hosts = [h.strip() for h in os.environ.get(HOSTS_VARIABLE, "").split(",") if h.strip()]
    return dict(
        SOHOA_HOME=home_root,
        DEBUG=debug,
        SECRET_KEY=secret_key(home_root),
        # Any host name the office LAN uses for this machine unless narrowed: the app is not
        # on the open internet, and Host-header attacks need a shared cache it has not.
        ALLOWED_HOSTS=hosts or ["*"],
        INSTALLED_APPS=[
            *APPS,
            "django.contrib.admin",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "axes",
            "rest_framework",
            "drf_spectacular",
            "web",
        ],
        MIDDLEWARE=[
            "web.proxy.real_client_address",  # behind nginx: the browser's address, not 127.0.0.1
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.locale.LocaleMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "web.middleware.content_security_policy",
            "axes.middleware.AxesMiddleware",  # last, as django-axes asks
        ],
        AUTHENTICATION_BACKENDS=[
            "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login
            "django.contrib.auth.backends.ModelBackend",
        ],
        ROOT_URLCONF="web.urls",
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.permissions.context",
            ]},
        }],
        WSGI_APPLICATION="web.wsgi.application",
        DATABASES={"default": home_database_settings(home_root)},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        MIGRATION_MODULES={},
        USE_TZ=True,
        TIME_ZONE="Asia/Ho_Chi_Minh",
        USE_I18N=True,
        LANGUAGE_CODE="vi",
        LANGUAGES=[("vi", "Tiếng Việt")],
        STATIC_URL="/static/",
        # whitenoise serves the vendored files from the apps (finders); nothing is collected
        STATIC_ROOT=Path(__file__).resolve().parent / "static",
        WHITENOISE_USE_FINDERS=True,
        LOGIN_URL="/dang-nhap/",
        LOGIN_REDIRECT_URL="/",
        LOGOUT_REDIRECT_URL="/dang-nhap/",
        # Sessions: end when idle, when the browser closes, and are never readable by script.
        SESSION_COOKIE_AGE=IDLE_MINUTES * 60,
        SESSION_SAVE_EVERY_REQUEST=True,
        SESSION_EXPIRE_AT_BROWSER_CLOSE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        CSRF_COOKIE_SECURE=https,
        CSRF_FAILURE_VIEW="web.views.accounts.csrf_failure",  # said in Vietnamese
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https") if https else None,
        SECURE_HSTS_SECONDS=31536000 if https else 0,
        SECURE_CONTENT_TYPE_NOSNIFF=True,
        SECURE_REFERRER_POLICY="same-origin",
        X_FRAME_OPTIONS="DENY",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        AUTH_PASSWORD_VALIDATORS=[
            {"NAME": "web.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ],
        # Login throttling (django-axes): 5 failures for one user name from one address lock
        # that pair out for 15 minutes; the login page says so in Vietnamese.
        AXES_FAILURE_LIMIT=5,
        AXES_COOLOFF_TIME=0.25,
        AXES_LOCKOUT_PARAMETERS=[["username", "ip_address"]],
        AXES_RESET_ON_SUCCESS=True,
        AXES_LOCKOUT_CALLABLE="web.views.accounts.locked_out",  # says until when, in Vietnamese
        AXES_VERBOSE=False,
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "web.api_auth.HashedTokenAuthentication",
                "rest_framework.authentication.SessionAuthentication",
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
        SPECTACULAR_SETTINGS={
            "TITLE": "sohoa API",
            "DESCRIPTION": "Tìm kiếm và đọc tài liệu lưu trữ; cùng quy tắc quyền và độ mật như trang web.",
            "VERSION": "1",
            "SERVE_INCLUDE_SCHEMA": False,
        },
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"console": {"class": "logging.StreamHandler"}},
            "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
        },
    )


if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__ and os.environ.get("SOHOA_HOME"):
    globals().update(web_settings(Path(os.environ["SOHOA_HOME"])))
