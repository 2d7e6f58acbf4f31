"""Logging in and out (web/views/accounts.py)."""

from django.urls import path

from web.views import accounts

urlpatterns = [
    path("dang-nhap/", accounts.LoginView.as_view(), name="login"),
    path("dang-xuat/", accounts.LogoutView.as_view(), name="logout"),
]
