"""/api/: the REST API (web/api/views.py), its OpenAPI schema and its reference page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from web.api import docs, views

urlpatterns = [
    path("search", views.SearchView.as_view(), name="api-search"),
    path("documents/<int:document_id>", views.DocumentView.as_view(), name="api-document"),
    path("documents/<int:document_id>/pages/<int:number>.png", views.PageImageView.as_view(), name="api-page"),
    path("documents/<int:document_id>/pdfa", views.PdfaView.as_view(), name="api-pdfa"),
    path("documents/<int:document_id>/original", views.OriginalView.as_view(), name="api-original"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs.api_docs, name="api-docs"),
    re_path(r"^(?P<rest>.*)$", views.NotFoundView.as_view()),
]
