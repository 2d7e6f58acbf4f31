"""Logging in and out: Django's own views (sessions, CSRF, password hashing) with the
words in Vietnamese, and the page django-axes shows after repeated failures."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils import timezone


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Tên đăng nhập hoặc mật khẩu không đúng. Lưu ý: chữ hoa và chữ thường là khác nhau.",
        "inactive": "Tài khoản này đã bị khóa; hãy hỏi quản trị viên.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Tên đăng nhập"
        self.fields["password"].label = "Mật khẩu"
        self.fields["username"].error_messages["required"] = "Hãy nhập tên đăng nhập."
        self.fields["password"].error_messages["required"] = "Hãy nhập mật khẩu."
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})
        self.fields["password"].widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link or an image elsewhere cannot log a user out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "Bạn đã đăng xuất.")
        return response


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a name has failed AXES_FAILURE_LIMIT times from one address:
    when the lock ends, in local time (each further try starts the wait again)."""
    cool_off = settings.AXES_COOLOFF_TIME
    if not isinstance(cool_off, timedelta):
        cool_off = timedelta(hours=float(cool_off))
    retry_at = timezone.localtime(timezone.now() + cool_off)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": max(1, round(cool_off.total_seconds() / 60)),
        "retry_at": retry_at,
    }
    return render(request, "web/locked_out.html", context, status=429)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent without its token (a page kept open across a restart
    of the browser, cookies blocked, or another site's form) is refused in Vietnamese."""
    return render(request, "web/csrf_failure.html", status=403)
