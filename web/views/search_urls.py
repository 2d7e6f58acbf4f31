"""The staff's pages: search at /, each document at /tai-lieu/<id>/ with its page images
and downloads (web.views.search, web.views.document)."""

from django.urls import path

from web.views import document, document_edit, search

urlpatterns = [
    path("", search.search_page, name="search"),
    path("tai-lieu/<int:document_id>/", document.document_page, name="document"),
    path("tai-lieu/<int:document_id>/do-mat/", document_edit.set_confidentiality, name="set-confidentiality"),
    path("tai-lieu/<int:document_id>/trang/<int:page>.png", document.page_image, name="page-image"),
    path("tai-lieu/<int:document_id>/tai-ve/pdfa", document.download_pdfa, name="download-pdfa"),
    path("tai-lieu/<int:document_id>/tai-ve/ban-goc", document.download_original, name="download-original"),
]
