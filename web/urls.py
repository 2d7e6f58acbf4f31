"""Every address of the web application. Each area keeps its own list beside its views;
the Vietnamese paths are what staff see in the address bar and bookmark."""

from django.urls import include, path

urlpatterns = [
    path("", include("web.views.search_urls")),  # / (search), /tai-lieu/<id>/ ...
    path("", include("web.views.account_urls")),  # /dang-nhap/, /dang-xuat/
    path("", include("web.views.access_log_urls")),  # /nhat-ky-truy-cap/
    path("api/", include("web.api.urls")),  # /api/, /api/schema/, /api/docs/
    path("quan-tri/", include("web.admin_urls")),  # Django's admin, in Vietnamese
]
