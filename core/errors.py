"""One error base and one table of error codes, for the CLI, the service and the web alike.

Every failure sohoa reports carries a stable English code (kebab-case: logs, JSON output,
job rows, tests, the failed/ reason file) and a Vietnamese reason naming the file's real
cause. CODES says, once per code, what the failure means and what the clerk should do, so
the same failure reads the same wherever it is met. A code, once written to a job row or a
reason file, is never renamed: old rows must still read.
"""

from __future__ import annotations

from dataclasses import dataclass

UNEXPECTED = "unexpected"


class SohoaError(Exception):
    """A failure sohoa knows how to explain: `code` is stable, `reason` is one Vietnamese line
    for people (defaults to the code's meaning in CODES)."""

    code = UNEXPECTED

    def __init__(self, reason: str | None = None, *args):
        reason = reason if reason is not None else meaning(self.code)
        super().__init__(reason, *args)
        self.reason = reason

    @property
    def message(self) -> str:
        return self.reason


class ConfigError(SohoaError):
    """config.toml cannot be used as it is; the message names the file and the setting."""

    code = "config-invalid"


@dataclass(frozen=True)
class Code:
    meaning: str  # what went wrong, in plain Vietnamese
    advice: str  # what the clerk (or the technician) does about it
    transient: bool = False  # "not now" rather than "never": the service tries the file again later


ASK_TECHNICIAN = "Hãy báo kỹ thuật viên; chi tiết kỹ thuật nằm trong logs/sohoa.log."

CODES: dict[str, Code] = {
    # The input file itself: the same at every try, the clerk's to fix.
    "rejected": Code("tệp không lưu vào kho được", "Hãy kiểm tra tệp rồi thả lại vào thư mục."),
    "empty": Code("tệp rỗng (0 byte)", "Tệp rỗng (0 byte). Hãy quét lại hoặc chép lại tệp từ máy quét."),
    "corrupt": Code("tệp hỏng hoặc chép chưa hết",
                    "Tệp hỏng hoặc chép chưa hết. Hãy chép lại hoặc quét lại rồi thả lại vào thư mục."),
    "damaged": Code("tệp PDF bị hỏng: số trang đọc được khác số trang tệp khai báo",
                    "Hãy chép lại tệp từ máy quét hoặc quét lại; nếu không còn bản nào tốt hơn, đặt "
                    "accept_damaged = true cho hồ sơ để lưu phần đọc được."),
    "encrypted": Code("tệp PDF có mật khẩu",
                      "Hãy gỡ mật khẩu của tệp PDF (hoặc xuất lại không đặt mật khẩu) rồi thả lại vào thư mục."),
    "unsupported-format": Code("định dạng tệp không được hỗ trợ",
                               "sohoa nhận bản quét PDF, TIFF, JPEG và PNG. Hãy lưu bản quét ở một trong các "
                               "định dạng đó rồi thả lại vào thư mục."),
    "too-many-pixels": Code("ảnh quá lớn (quá nhiều điểm ảnh)", "Hãy quét lại ở độ phân giải 200–300 dpi."),
    "not-pdfa": Code("tệp không chuyển được sang PDF/A",
                     "Hãy xuất lại tệp PDF từ phần mềm quét (hoặc quét lại) rồi thả lại vào thư mục."),
    "page-size": Code("khổ trang ghi trong tệp PDF không phải khổ giấy thật",
                      "Khổ trang ghi trong tệp PDF không phải khổ giấy thật. Hãy xuất lại tệp PDF (khổ A4, A3 ...) "
                      "rồi thả lại vào thư mục."),
    "too-large-content": Code("nội dung một trang bung ra quá lớn (tệp hỏng hoặc tệp độc)",
                              "Đừng mở tệp này nếu không rõ nguồn gốc; hãy xin lại bản gốc hoặc quét lại văn bản giấy."),
    "too-many-pages": Code("tệp có quá nhiều trang", "Hãy tách tệp thành nhiều tệp nhỏ hơn rồi thả lại vào thư mục."),
    "too-much-memory": Code("đọc tệp cần nhiều bộ nhớ hơn mức cho phép",
                            "Hãy quét lại ở độ phân giải 200–300 dpi, hoặc báo kỹ thuật viên tăng [limits] "
                            "memory_limit_mb trong config.toml nếu tệp đúng là cần lưu."),
    "page-lost": Code("tiến trình nhận dạng chữ chết hai lần ở cùng một trang",
                      "Hãy quét lại trang đó ở độ phân giải 200–300 dpi; nếu vẫn lỗi, báo kỹ thuật viên.",
                      transient=True),
    # sohoa's own steps: not the file's fault.
    "ocr-failed": Code("Tesseract không nhận dạng được chữ (thiếu chương trình, thiếu gói tiếng Việt hoặc lỗi trên trang)",
                       "Hãy báo kỹ thuật viên cài gói tesseract-ocr và tesseract-ocr-vie, rồi thả lại tệp."),
    "ocr-font-missing": Code("thiếu phông chữ ẩn của Tesseract (pdf.ttf) để ghi lớp chữ",
                             "Hãy báo kỹ thuật viên cài lại gói tesseract-ocr."),
    "pdfa-invalid": Code("sohoa chưa tạo được bản PDF/A hợp lệ từ tệp này; tệp gốc không có lỗi cần sửa",
                         "Hãy gửi tệp cho người quản trị hệ thống."),
    # Signing and verifying.
    "signing-failed": Code("không ký số được", ASK_TECHNICIAN),
    "signing-config": Code("phần [signing] hoặc [verify] trong config.toml sai",
                           "Hãy sửa config.toml theo dòng lỗi đã báo rồi chạy lại."),
    "identity-unavailable": Code("không dùng được chứng thư ký (tệp .p12 hoặc token)",
                                 "Hãy cắm token ký (hoặc kiểm tra tệp chứng thư) rồi thả lại tệp.", transient=True),
    "signing-pin": Code("token ký từ chối mã PIN",
                        "Hãy kiểm tra mã PIN (token bị khóa sau vài lần sai) rồi khởi động lại dịch vụ."),
    "secret-missing": Code("chưa có mã PIN hoặc mật khẩu của chứng thư ký",
                           "Hãy đặt mã PIN (biến môi trường hoặc tệp đã cấu hình) rồi chạy lại."),
    "timestamp-unavailable": Code("dịch vụ cấp dấu thời gian không trả lời",
                                  "Hãy kiểm tra kết nối mạng tới dịch vụ cấp dấu thời gian rồi thả lại tệp.", transient=True),
    "revocation-data-missing": Code("thiếu dữ liệu thu hồi để kiểm tra chứng thư ký",
                                    "Hãy kiểm tra kết nối mạng và gốc tin cậy trong config.toml, rồi thả lại tệp."),
    "signed-pdfa-invalid": Code("bản đã ký không còn là PDF/A hợp lệ", "Hãy gửi tệp cho người quản trị hệ thống."),
    "password-needed": Code("tệp cần mật khẩu mới mở được, không kiểm tra được chữ ký",
                            "Hãy xin bản không đặt mật khẩu."),
    # The home, its configuration, the catalog and the index.
    "config-invalid": Code("tệp cấu hình config.toml có chỗ sai", "Hãy sửa config.toml theo dòng lỗi đã báo rồi chạy lại."),
    "agency-invalid": Code("tên cơ quan không dùng được", "Hãy đặt lại tên cơ quan (sohoa init --agency …)."),
    "index-unavailable": Code("chỉ mục tìm kiếm đang bận hoặc không dùng được",
                              "Hãy chờ tiến trình khác dùng xong chỉ mục, hoặc dựng lại: sohoa reindex.", transient=True),
    "index-busy": Code("chỉ mục tìm kiếm đang được tiến trình khác ghi",
                       "Không cần làm gì: tài liệu đã lưu, sẽ vào chỉ mục khi tiến trình kia ghi xong.",
                       transient=True),
    "catalog-schema-mismatch": Code("danh mục cũ có các bảng không đúng phiên bản nó ghi",
                                    "Hãy báo kỹ thuật viên; đừng xóa hay sửa tệp catalog.sqlite."),
    "database-config": Code("phần [database] trong config.toml không dùng được",
                            "Hãy sửa phần [database] trong config.toml theo lỗi đã báo rồi chạy lại."),
    "date-invalid": Code("ngày tháng không đọc được", "Hãy viết ngày theo dạng ngày/tháng/năm, ví dụ 15/03/2024."),
    "correction-refused": Code("không sửa được thông tin tài liệu", "Hãy xem lại lệnh sửa theo lỗi đã báo."),
    "withdraw-refused": Code("không rút được tài liệu khỏi kho", "Hãy xem lại mã tài liệu và lý do rút."),
    "refused": Code("lệnh không thực hiện được", "Hãy xem lại lệnh theo lỗi đã báo."),
    # The watch service.
    "service-running": Code("dịch vụ theo dõi thư mục đang chạy cho kho này",
                            "Chỉ chạy một dịch vụ cho mỗi kho; dừng dịch vụ kia trước."),
    "no-profile": Code("tệp không nằm trong thư mục của một hồ sơ",
                       "Hãy đặt tệp vào thư mục của một hồ sơ (inbox/<hồ sơ>/)."),
    "unreadable": Code("không đọc được tệp",
                       "Kiểm tra quyền đọc của tệp (hoặc chép lại tệp từ máy quét), rồi thả lại vào thư mục."),
    "gone": Code("tệp đã bị lấy ra khỏi thư mục trước khi lưu xong",
                 "Không còn gì để làm: tệp đã được lấy ra khỏi thư mục trước khi lưu xong."),
    "worker-lost": Code("tiến trình xử lý chết giữa chừng", ASK_TECHNICIAN),
    "disk-full": Code("đĩa đầy, chưa ghi được", "Hãy giải phóng chỗ trống trên đĩa của kho; sẽ làm tiếp khi có chỗ."),
    "transient": Code("lỗi tạm thời lặp lại nhiều lần",
                      "Hãy thả lại tệp sau; nếu vẫn lỗi, báo kỹ thuật viên (chi tiết trong logs/sohoa.log)."),
    UNEXPECTED: Code("lỗi không mong đợi", ASK_TECHNICIAN),
    "internal": Code("lỗi không mong đợi", ASK_TECHNICIAN),  # the name of UNEXPECTED in older job rows
}


def meaning(code: str) -> str:
    return (CODES.get(code) or CODES[UNEXPECTED]).meaning


def advice(code: str) -> str:
    return (CODES.get(code) or CODES[UNEXPECTED]).advice


def is_transient_code(code: str | None) -> bool:
    return code in CODES and CODES[code].transient


def describe(error: BaseException) -> tuple[str, str]:
    """(code, one Vietnamese line) for any exception: a SohoaError says its own; anything
    else is a bug or an environment fault, named as such with its type."""
    if isinstance(error, SohoaError):
        return error.code, error.reason
    return UNEXPECTED, f"{meaning(UNEXPECTED)} ({type(error).__name__}: {error})"
