"""The REST API (/api/): search, document metadata, page images, downloads, for machines
with a token (web/api_auth.py) and for staff logged in to the site.

Every rule is web.permissions' (the same as the pages'): a document above the caller's
clearance, or withdrawn, is 404 as a missing one is; a role short of the action is 403;
no credentials or a bad or revoked token is 401. Every document view and download is in
the access log (channel "api") before the response leaves. Errors are JSON with a
Vietnamese `detail`."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

import web.api.schema  # noqa: F401  registers the token scheme with drf-spectacular
from web.access_log import Access, record_access
from web.api.serializers import DocumentSerializer, ErrorSerializer, SearchResponseSerializer, document_payload, \
    search_payload
from web.permissions import Action, check, document_or_404, standing

# DRF's own sentences (English, or its partial Vietnamese), said our way; a sentence a view
# or web/api_auth.py gave (a bad token, a missing page) is kept.
MESSAGES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa đăng nhập: gửi mã truy cập trong tiêu đề «Authorization: Token <mã>»",
    403: "Vai trò của bạn không được làm việc này",
    404: "Không có tài liệu này",
    405: "API này chỉ cho đọc (GET)",
    406: "Không trả được dạng dữ liệu yêu cầu (tiêu đề Accept)",
    429: "Gọi quá nhiều lần; hãy thử lại sau",
}
_DRF_DEFAULTS = (exceptions.ParseError, exceptions.AuthenticationFailed, exceptions.NotAuthenticated,
                 exceptions.PermissionDenied, exceptions.NotFound, exceptions.ValidationError)
ERRORS = {401: OpenApiResponse(ErrorSerializer, "chưa đăng nhập, mã sai hoặc đã bị thu hồi"),
          403: OpenApiResponse(ErrorSerializer, "vai trò không được làm việc này")}
NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, "không có tài liệu này, hoặc mức mật cao hơn quyền người gọi")}


def vietnamese_errors(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    if detail is None:  # a validation error's field -> messages
        response.data = {"detail": MESSAGES[400], "errors": response.data}
    elif response.status_code in (405, 406, 429) or str(detail) in {str(kind.default_detail)
                                                                     for kind in _DRF_DEFAULTS}:
        response.data = {"detail": MESSAGES.get(response.status_code, str(detail))}
    return response


class SohoaAPIView(APIView):
    def get_exception_handler(self):
        return vietnamese_errors


class AnyAccept(BaseContentNegotiation):
    """File answers ignore Accept: a client asking for application/pdf gets the PDF, not
    406; errors on the way are JSON all the same."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


DOCUMENT_ID = OpenApiParameter("document_id", int, OpenApiParameter.PATH,
                               description="mã tài liệu (id trong kết quả tìm kiếm)")
PAGE_NUMBER = OpenApiParameter("number", int, OpenApiParameter.PATH, description="số trang, từ 1")

SEARCH_PARAMETERS = [
    OpenApiParameter("q", str, description="từ khóa, có dấu hay không dấu; số ký hiệu (15/QĐ-UBND)"),
    OpenApiParameter("type", str, description="loại văn bản: tên hoặc ký hiệu (quyết định, QĐ)"),
    OpenApiParameter("agency", str, description="cơ quan ban hành"),
    OpenApiParameter("year", int, description="năm ban hành"),
    OpenApiParameter("profile", str, description="hồ sơ xử lý (thư mục nhận)"),
    OpenApiParameter("signature", str, enum=["signed", "unsigned", "invalid"], description="trạng thái chữ ký số"),
    OpenApiParameter("sort", str, enum=["relevance", "date"], description="relevance (mặc định) hoặc date"),
    OpenApiParameter("page", int, description="trang kết quả, từ 1"),
]


class SearchView(SohoaAPIView):
    @extend_schema(operation_id="search", summary="Tìm tài liệu", parameters=SEARCH_PARAMETERS,
                   description="Như trang tìm kiếm: chỉ tài liệu có mức mật không cao hơn quyền người gọi, "
                               "trong kết quả, tổng số, số đếm theo nhóm và đoạn trích.",
                   responses={200: SearchResponseSerializer, 400: ErrorSerializer, **ERRORS})
    def get(self, request):
        from web.search import SearchParams, search_documents

        check(request.user, Action.SEARCH)
        params = SearchParams.from_mapping(request.query_params)
        if params.is_empty:
            return Response({"detail": "Hãy gửi từ khóa (q) hoặc ít nhất một điều kiện lọc "
                                       "(type, agency, year, profile, signature)"}, status=400)
        return Response(search_payload(search_documents(request.user, params)))


class DocumentView(SohoaAPIView):
    @extend_schema(operation_id="document", summary="Thông tin một tài liệu", parameters=[DOCUMENT_ID],
                   description="Các trường đọc được từ phần đầu văn bản với độ tin cậy, chữ ký số, số trang, "
                               "nhật ký xử lý. Mỗi lần gọi được ghi vào nhật ký truy cập.",
                   responses={200: DocumentSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request, document_id: int):
        document = document_or_404(request.user, document_id)
        payload = document_payload(document, may_download_original=standing(request.user).may(
            Action.DOWNLOAD_ORIGINAL))
        record_access(request, document, Access.VIEW, channel="api")
        return Response(payload)


class PageImageView(SohoaAPIView):
    content_negotiation_class = AnyAccept

    @extend_schema(operation_id="page_image", summary="Ảnh một trang (PNG)",
                   description="Vẽ trên máy chủ từ bản PDF/A; q: các từ cần tô trên trang.",
                   parameters=[DOCUMENT_ID, PAGE_NUMBER,
                               OpenApiParameter("q", str, description="từ cần tô trên ảnh"),
                               OpenApiParameter("dpi", int, description="độ phân giải, 30..200 (mặc định 100)")],
                   responses={(200, "image/png"): OpenApiTypes.BINARY, **ERRORS, **NOT_FOUND})
    def get(self, request, document_id: int, number: int):
        from web.page_images import DPI, PageImageError, render_page

        document = document_or_404(request.user, document_id)
        if not 1 <= number <= document.page_count:
            raise exceptions.NotFound(f"Tài liệu {document.pk} có {document.page_count} trang, không có trang {number}")
        dpi = request.query_params.get("dpi", "")
        try:
            png = render_page(archived_path(document.pdfa_file), number, request.query_params.get("q", "")[:500],
                              int(dpi) if dpi.isdigit() else DPI)
        except PageImageError as failure:
            raise FileGone(f"Không vẽ được ảnh trang: {failure}") from None
        record_access(request, document, Access.PAGE, page=number, channel="api")
        return _file_response(png, "image/png", f"tai-lieu-{document.pk}-trang-{number}.png", inline=True)


class PdfaView(SohoaAPIView):
    content_negotiation_class = AnyAccept

    @extend_schema(operation_id="download_pdfa", summary="Tải bản PDF/A lưu trữ", parameters=[DOCUMENT_ID],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS, **NOT_FOUND})
    def get(self, request, document_id: int):
        document = document_or_404(request.user, document_id)
        path = archived_path(document.pdfa_file)
        handle = _open_or_gone(path)
        record_access(request, document, Access.DOWNLOAD_PDFA, channel="api")
        return _file_response(handle, "application/pdf", f"tai-lieu-{document.pk}.pdf")


class OriginalView(SohoaAPIView):
    content_negotiation_class = AnyAccept

    @extend_schema(operation_id="download_original", summary="Tải bản gốc (bản quét như khi nhận)",
                   description="Chỉ lưu trữ viên và quản trị.", parameters=[DOCUMENT_ID],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS, **NOT_FOUND})
    def get(self, request, document_id: int):
        document = document_or_404(request.user, document_id)  # 404 before 403: existence is not told
        check(request.user, Action.DOWNLOAD_ORIGINAL)
        path = archived_path(document.original_file)
        handle = _open_or_gone(path)
        record_access(request, document, Access.DOWNLOAD_ORIGINAL, channel="api")
        suffix = path.suffix.lower() or ""
        return _file_response(handle, _ORIGINAL_TYPES.get(suffix, "application/octet-stream"),
                              f"tai-lieu-{document.pk}-ban-goc{suffix}")


_ORIGINAL_TYPES = {".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff", ".jpg": "image/jpeg",
                   ".jpeg": "image/jpeg", ".png": "image/png"}


def archived_path(relative: str):
    from pathlib import Path

    from django.conf import settings

    from core.archive import ArchiveStore
    from core.home import Home

    return ArchiveStore(Home(Path(settings.SOHOA_HOME)).archive_dir).path(relative)


class FileGone(exceptions.APIException):
    status_code = 500
    default_detail = "Tệp lưu trữ của tài liệu này không đọc được; báo quản trị chạy: sohoa audit"


def _open_or_gone(path):
    try:
        return open(path, "rb")  # noqa: SIM115  FileResponse closes it
    except OSError:
        raise FileGone() from None


def _file_response(content, content_type: str, filename: str, *, inline: bool = False):
    if isinstance(content, (bytes, bytearray)):
        import io

        content = io.BytesIO(content)
    response = FileResponse(content, content_type=content_type, as_attachment=not inline, filename=filename)
    response["Cache-Control"] = "private, no-store"  # a shared cache must not keep a secret page
    return response


class NotFoundView(SohoaAPIView):
    """Any other address under /api/: JSON 404, not the site's HTML page."""

    permission_classes: list = []
    authentication_classes: list = []

    @extend_schema(exclude=True)
    def get(self, request, rest: str = ""):
        raise exceptions.NotFound("Không có địa chỉ API này; xem danh sách ở /api/docs/")
