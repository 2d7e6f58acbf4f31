"""/nhat-ky-truy-cap/: the access log for archivists (web/views/access_log.py)."""

from django.urls import path

from web.views.access_log import access_log, access_log_csv

urlpatterns = [
    path("nhat-ky-truy-cap/", access_log, name="access-log"),
    path("nhat-ky-truy-cap/tai-ve.csv", access_log_csv, name="access-log-csv"),
]
