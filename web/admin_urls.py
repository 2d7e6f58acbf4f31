"""Placeholder until this area is built."""

urlpatterns: list = []
