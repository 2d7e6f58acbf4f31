"""The data home's config.toml: typed, immutable settings with commented defaults.

In the bottom layer, so every layer reads the same Config; the sections other layers own are
parsed by their own modules here below (core/signing_settings.py, core/record_defaults.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config_file import read_config
from core.errors import ConfigError  # raised here; callers import it from here
from core.record_defaults import RecordDefaults, parse_record_defaults
from core.signing_settings import SigningSettings, VerifySettings, parse_signing, parse_verify

CONFIG_TEMPLATE = """\
# Cấu hình sohoa (sohoa configuration)
# Tạo bởi `sohoa init`. Dòng bắt đầu bằng # là chú thích; sửa giá trị rồi lưu lại.
# Created by `sohoa init`. Lines starting with # are comments.

[agency]
# Tên cơ quan lưu trữ, ghi vào siêu dữ liệu của tài liệu.
# The archiving agency's name, written into each record's metadata.
name = "Cơ quan chưa đặt tên"

[ocr]
# Ngôn ngữ nhận dạng của Tesseract: "vie" là tiếng Việt. Không nên thêm "+eng":
# dấu tiếng Việt bị mất nhiều hơn. (Tesseract language; "vie" alone reads Vietnamese best.)
language = "vie"
# Số trang nhận dạng song song; 0 = tự tính theo số CPU máy cho phép dùng.
# Pages OCR'd in parallel; 0 = as many as the CPUs this process may use.
workers = 0
# PDF đã có lớp chữ được giữ nguyên lớp chữ đó. true = luôn nhận dạng lại (lớp chữ cũ bị bỏ,
# trang không phải ảnh quét được chuyển thành ảnh). Có thể bật cho một lần chạy: --force-ocr.
# A PDF that already has text keeps it; true re-OCRs every page (also: --force-ocr).
force_ocr = false
# Giới hạn số điểm ảnh của một trang (triệu điểm ảnh); ảnh lớn hơn bị từ chối.
# Largest page accepted, in megapixels (A0 at 300 dpi is about 140).
max_page_megapixels = 250

[limits]
# Giới hạn chống tệp hỏng hoặc cố ý gây hại (tệp vượt giới hạn bị từ chối, có lý do). 0 = không giới hạn.
# Limits against damaged or malicious files (a file past one is refused with its reason); 0 = none.
# Số trang tối đa của một tệp; tệp dày hơn hãy tách ra. Most pages in one file.
max_pages = 2000
# Dung lượng giải nén tối đa của phần vẽ một trang (MB). Trang quét chỉ vài chục byte, trang văn
# bản vài chục KB, bản vẽ kỹ thuật dày đặc vài MB; 150 KB nén có thể nở ra 40 MB ("bom giải nén").
# Kiểm tra PDF/A một trang sát giới hạn cần tới khoảng 130 lần dung lượng này trong bộ nhớ.
# Largest decoded drawing of one page, in MB (a scan page is bytes, a dense drawing a few MB);
# the PDF/A check of a page at the limit may need some 130 times as much memory.
max_page_content_mb = 8
# Bộ nhớ tối đa của mỗi tiến trình đọc tệp hoặc nhận dạng chữ (MB), để một tệp không làm cạn bộ
# nhớ của cả máy: tệp vượt giới hạn bị từ chối, các tệp khác vẫn được xử lý. Trang lớn nhất nhận
# được (max_page_megapixels) cần khoảng 2000 MB.
# Memory each document or OCR process may use, in MB: a file that needs more fails alone.
memory_limit_mb = 4096

[ingest]
# Trang có cạnh ngắn nhỏ hơn số mm này (tính theo độ phân giải của ảnh, như ảnh thu nhỏ 80×110
# điểm ảnh ở 300 dpi) vẫn được lưu nhưng đánh dấu cần kiểm tra (sohoa review); 0 = không kiểm tra.
# Bản quét toàn trang trắng cũng được đánh dấu như vậy.
# A page whose short side is below this (mm, at its resolution) is archived flagged for review.
min_page_mm = 50

[index]
# Bộ máy tìm kiếm: "tantivy" (mặc định, nhanh) hoặc "whoosh" (thuần Python, cho máy không cài
# được tantivy). Đổi bộ máy thì chỉ mục được dựng lại từ danh mục ở lần chạy sau.
# Search engine: "tantivy" (default) or "whoosh" (pure Python); a change rebuilds the index.
engine = "tantivy"

[audit]
# Kiểm tra toàn vẹn định kỳ (`sohoa audit`) do dịch vụ theo dõi thư mục chạy: bao lâu một lần
# (giờ; 0 = không tự chạy) và cả kho được kiểm tra hết trong bao nhiêu ngày (mỗi lần một phần,
# tài liệu lâu chưa kiểm tra nhất trước; 0 = cả kho mỗi lần).
# The watch service's fixity audit: every interval_hours (0 = never), the whole archive
# covered within cycle_days (0 = all of it each time).
interval_hours = 24
cycle_days = 30

[metadata]
# Ngôn ngữ của tài liệu (mã ISO 639-1). Language of the documents.
language = "vi"
# Siêu dữ liệu lưu trữ (Thông tư 05/2025) mà trang văn bản không ghi: giá trị mặc định.
# Record elements the page does not say (Thông tư 05/2025), as codes:
# thời hạn bảo quản: 01 vĩnh viễn, 02 70 năm, 03 50 năm, 04 30 năm, 05 20 năm, 06 10 năm
retention = "01"
# chế độ sử dụng: 01 công khai, 02 sử dụng có điều kiện, 03 mật (văn bản có dấu MẬT: luôn 03)
access_mode = "01"
# mức độ tin cậy: 01 gốc điện tử, 02 số hóa, 03 hỗn hợp
reliability = "02"
# tình trạng vật lý: 01 tốt, 02 bình thường, 03 hỏng
physical_state = "01"
# Mã hồ sơ: mã lưu trữ của tài liệu = mã hồ sơ + "." + số thứ tự 7 chữ số. Dossier code.
dossier_code = ""
# Mã định danh cơ quan, đứng đầu mã định danh tài liệu. The agency's identifier code.
agency_code = ""
# chế độ dự phòng, tình trạng dự phòng (ghi chữ tự do)
backup_mode = ""
backup_state = ""
# Trường đọc được với độ tin cậy dưới mức này (0-1) được đánh dấu cần kiểm tra (`sohoa review`).
# Fields read with a lower confidence are flagged for review.
review_threshold = 0.6

[signing]
# Chữ ký số của cơ quan trên mỗi bản PDF/A (Nghị định 30/2020: bản số hóa có chữ ký số của
# cơ quan là bản sao điện tử). The agency's digital signature on every archived PDF/A.
enabled = true
# Mức chữ ký PAdES: "B-B" (không dấu thời gian); "B-T" (có dấu thời gian RFC 3161, cần
# timestamp_url); "B-LT" (kèm dữ liệu kiểm tra thu hồi OCSP/CRL, thiếu thì KHÔNG ký);
# "B-LTA" (thêm dấu thời gian tài liệu, để kiểm tra được sau hàng chục năm).
level = "B-B"
# "visible": khối chữ góc trên bên phải trang 1 (tên cơ quan, thời gian ký), Times 10;
# "invisible": chữ ký không hiện trên trang.
appearance = "visible"
# Dịch vụ cấp dấu thời gian (TSA) của nhà cung cấp chứng thư số; cần cho B-T, B-LT, B-LTA.
# timestamp_url = "http://..."
# Danh tính ký mặc định là danh tính THỬ NGHIỆM do `sohoa init` tạo: KHÔNG có giá trị pháp
# lý, không ai tin cậy. Đổi sang token thật: xem README, mục "Chữ ký số".
# Default: the test identity `sohoa init` created (not trusted). Real token: see README.
pkcs12 = "keys/sohoa-THU-NGHIEM-khong-tin-cay.p12"
pin_file = "keys/sohoa-THU-NGHIEM-khong-tin-cay.pin"
# Token USB / HSM qua PKCS#11 (xóa hai dòng pkcs12, pin_file ở trên):
# pkcs11_module = "/usr/lib/x86_64-linux-gnu/libcryptoki.so"
# token_label = "VNPT-CA"
# key_label = "..."
# Mã PIN (hoặc mật khẩu tệp PKCS#12): biến môi trường SOHOA_SIGNING_PIN, hoặc pin_file =
# tệp chỉ người chạy sohoa đọc được. Không bao giờ ghi PIN trên dòng lệnh.

[verify]
# Chứng thư gốc tin cậy (PEM/DER) khi kiểm tra chữ ký (`sohoa verify`). Với token thật, thay
# bằng chứng thư gốc của Ban Cơ yếu Chính phủ / nhà cung cấp (VNPT-CA, Viettel-CA, ...).
trust_roots = ["keys/sohoa-THU-NGHIEM-goc-khong-tin-cay.pem"]
# Kiểm tra thu hồi trực tuyến (OCSP/CRL); mặc định chỉ dùng dữ liệu nằm trong tệp (--online).
online = false
# `sohoa timestamp renew`: gia hạn tài liệu B-LTA có dấu thời gian mới nhất hết hạn trong
# vòng chừng này ngày. Renew B-LTA documents whose newest timestamp expires within N days.
renew_within_days = 365

[watch]
# Dịch vụ theo dõi thư mục (`sohoa watch`): văn thư lưu bản quét vào inbox/<hồ sơ>/, dịch vụ
# tự số hóa. The watch-folder service: scans saved into inbox/<profile>/ are processed.
# Một tệp chỉ được nhận khi kích thước và giờ sửa không đổi trong chừng này giây.
# A file is taken once its size and modification time stay unchanged this many seconds.
quiet_seconds = 5
# Tệp chưa mở được đúng định dạng (có thể đang chép dở) được chờ thêm tới chừng này giây,
# sau đó vẫn được nhận và báo lỗi nếu hỏng. A file that does not open yet is taken after this.
incomplete_seconds = 60
# Quét lại toàn bộ inbox mỗi chừng này giây (ổ mạng, SMB không báo sự kiện thay đổi tệp).
# Full rescan period: network shares do not deliver file events.
rescan_seconds = 30
# Số tiến trình Tesseract; 0 = theo số CPU được dùng. OCR processes; 0 = one per usable CPU.
workers = 0
# Số tài liệu xử lý cùng lúc; 0 = số tiến trình OCR + 2 (tệp nhỏ không phải chờ tệp lớn).
# Documents in progress at once; 0 = OCR processes + 2, so small files pass big ones.
documents_in_flight = 0
# Lỗi tạm thời (tệp đang bị khóa, đầy đĩa...) được thử lại, chờ lâu dần từ retry_seconds,
# tối đa max_attempts lần. Transient errors are retried with growing waits.
retry_seconds = 10
max_attempts = 5
# Khi dừng dịch vụ: chờ tài liệu đang làm dở tối đa chừng này giây, quá thì hủy (làm lại
# lần sau). On stop, documents in hand get this long to finish, then are rolled back.
stop_grace_seconds = 30

# Mỗi hồ sơ là một thư mục inbox/<tên>/ (được có thư mục con), với ngôn ngữ nhận dạng, ký số
# và siêu dữ liệu mặc định riêng. after_done: "delete" xóa tệp khỏi inbox sau khi đã lưu
# vào kho, "move" chuyển sang done/<tên>/. sign: ký số bản PDF/A (bỏ trống: theo [signing]).
# Each profile is a folder inbox/<name>/ (subfolders allowed) with its own OCR language,
# signing, and metadata defaults; after_done: "delete" or "move" (to done/<name>/).
# accept_damaged = true: PDF bị hỏng hoặc bị cắt cụt vẫn được lưu các trang đọc được, ghi lại
# hư hỏng và đánh dấu cần kiểm tra (mặc định: từ chối). A damaged PDF is archived as far as
# readable, the damage recorded and flagged for review (default: refused).
[profiles.van-ban-den]
title = "Văn bản đến"
ocr_language = "vie"
sign = false
after_done = "move"
[profiles.van-ban-den.metadata]
register = "Sổ văn bản đến"
reliability = "02"  # mức độ tin cậy: 02 = số hóa

[profiles.van-ban-di]
title = "Văn bản đi"
ocr_language = "vie"
sign = true
after_done = "move"
[profiles.van-ban-di.metadata]
register = "Sổ văn bản đi"
reliability = "02"

[profiles.luu-tru]
title = "Số hóa tài liệu lưu trữ"
ocr_language = "vie"
sign = true
after_done = "delete"
[profiles.luu-tru.metadata]
reliability = "02"
"""


@dataclass(frozen=True)
class OcrSettings:
    language: str = "vie"
    workers: int = 0
    force_ocr: bool = False
    max_page_megapixels: float = 250


@dataclass(frozen=True)
class LimitSettings:
    max_pages: int = 2000  # 0 = none
    max_page_content_mb: float = 8
    memory_limit_mb: int = 4096

    @property
    def max_page_content(self) -> int:
        return int(self.max_page_content_mb * (1 << 20))


@dataclass(frozen=True)
class IngestSettings:
    min_page_mm: float = 50  # a smaller page is archived flagged for review (a thumbnail); 0 = off


@dataclass(frozen=True)
class Config:
    agency_name: str = "Cơ quan chưa đặt tên"
    ocr: OcrSettings = OcrSettings()
    index_engine: str = "tantivy"
    language: str = "vi"
    # Without a config file nothing is signed; a home's config turns it on (core/signing_settings.py).
    signing: SigningSettings = SigningSettings(enabled=False)
    verify: VerifySettings = VerifySettings()
    # [metadata]: the Thông tư 05 record's defaults and the review threshold
    records: RecordDefaults = RecordDefaults()
    limits: LimitSettings = LimitSettings()
    ingest: IngestSettings = IngestSettings()


def load_config(path: Path) -> Config:
    data = read_config(path)
    if data is None:
        return Config()
    ocr = data.get("ocr", {})
    try:
        settings = OcrSettings(
            language=str(ocr.get("language", "vie")),
            workers=int(ocr.get("workers", 0)),
            force_ocr=bool(ocr.get("force_ocr", False)),
            max_page_megapixels=float(ocr.get("max_page_megapixels", 250)),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: giá trị trong [ocr] không hợp lệ ({error})") from error
    limits = _parse_limits(data.get("limits", {}), path)
    try:
        ingest = IngestSettings(min_page_mm=float(data.get("ingest", {}).get("min_page_mm", IngestSettings.min_page_mm)))
    except (TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"{path}: giá trị trong [ingest] không hợp lệ ({error})") from error
    if ingest.min_page_mm < 0:
        raise ConfigError(f"{path}: [ingest] min_page_mm không được âm (0 = không kiểm tra)")
    agency_name = str(data.get("agency", {}).get("name", Config.agency_name))
    try:
        signing = parse_signing(data.get("signing", {}), base=path.parent, agency_name=agency_name)
        verify = parse_verify(data.get("verify", {}), base=path.parent, signing=signing)
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from error
    try:
        records = parse_record_defaults(data.get("metadata", {}))
    except ValueError as error:
        raise ConfigError(f"{path}: [metadata] {error}") from error
    return Config(
        agency_name=agency_name,
        ocr=settings,
        index_engine=str(data.get("index", {}).get("engine", "tantivy")),
        language=str(data.get("metadata", {}).get("language", "vi")),
        signing=signing,
        verify=verify,
        records=records,
        limits=limits,
        ingest=ingest,
    )


def _parse_limits(table: dict, path: Path) -> LimitSettings:
    defaults = LimitSettings()
    try:
        limits = LimitSettings(
            max_pages=int(table.get("max_pages", defaults.max_pages)),
            max_page_content_mb=float(table.get("max_page_content_mb", defaults.max_page_content_mb)),
            memory_limit_mb=int(table.get("memory_limit_mb", defaults.memory_limit_mb)),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: giá trị trong [limits] không hợp lệ ({error})") from error
    for key in ("max_pages", "max_page_content_mb", "memory_limit_mb"):
        if getattr(limits, key) < 0:
            raise ConfigError(f"{path}: [limits] {key} không được âm (0 = không giới hạn)")
    return limits
