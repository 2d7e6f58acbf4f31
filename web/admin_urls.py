"""Django's admin at /quan-tri/ (web/admin.py says what it shows)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("", admin.site.urls)]
