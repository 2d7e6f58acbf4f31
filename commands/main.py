"""`sohoa`: the parser, built from the standard library alone, and the dispatch to one module
per command group (commands/archive.py, search.py, service.py, verify.py, home.py), which
imports the pipeline only when its command runs: `sohoa --help` answers at once."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from commands import vietnamese
from commands.common import EXIT_FAILED, EXIT_USAGE, UserError, error, has_config, not_a_home, setup_logging
from commands.vietnamese import Parser, document_id, positive, whole
from core.home import UMASK, resolve_home  # the standard library only, like this module

# The same as index.Sort and index.rebuild.DEFAULT_BATCH (a test holds them equal): the parser
# must not import the index to offer them.
SORTS = ("relevance", "date")
DEFAULT_BATCH = 2000

JSON_HELP = "in kết quả dạng JSON cho máy đọc"
JSON_LINES_HELP = "in kết quả dạng JSON, mỗi tài liệu một dòng"
ID_HELP = "mã tài liệu (số in trong `sohoa search`, `sohoa ingest`: [mã 12])"


def _json(parser, help: str = JSON_HELP) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def _level(text: str):
    """argparse type: a confidentiality level (core.confidentiality.Level, standard library only)."""
    from core.confidentiality import Level

    try:
        return Level.parse(text)
    except ValueError as failure:
        raise argparse.ArgumentTypeError(str(failure)) from None


def build_parser() -> argparse.ArgumentParser:
    vietnamese.install()
    common = Parser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS, metavar="THƯ_MỤC",
                        help="thư mục dữ liệu (mặc định $SOHOA_HOME hoặc ./sohoa-data)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="in thêm chi tiết xử lý")
    parser = Parser(
        prog="sohoa", parents=[common],
        description="Số hóa tài liệu: bản quét vào, bản PDF/A-2u lưu trữ và tìm kiếm được ra.",
        epilog="Xem hướng dẫn từng lệnh: sohoa LỆNH --help",
    )
    from pipeline import __version__  # pipeline/__init__.py holds only the version

    parser.add_argument("--version", action="version", version=f"sohoa {__version__}",
                        help="in phiên bản rồi thoát")
    commands = parser.add_subparsers(dest="command", required=True, metavar="LỆNH", title="các lệnh")

    def command(name: str, handler: str, help: str, **kwargs) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help, description=kwargs.pop("description", help),
                                  **kwargs)
        sub.set_defaults(handler=handler)
        return sub

    init = command("init", "home:cmd_init", "tạo kho dữ liệu")
    init.add_argument("--agency-name", metavar="TÊN", help="tên cơ quan lưu trữ (ghi vào chữ ký số và siêu dữ liệu)")
    init.add_argument("--agency-code", metavar="MÃ", help="mã định danh cơ quan")
    _json(init)

    ingest = command("ingest", "archive:cmd_ingest", "số hóa và lưu trữ tệp quét")
    ingest.add_argument("files", nargs="+", metavar="TỆP", help="PDF, TIFF, JPEG hoặc PNG")
    _json(ingest, JSON_LINES_HELP)
    ingest.add_argument("--force-ocr", action="store_true",
                        help="nhận dạng lại cả PDF đã có lớp chữ (bỏ lớp chữ cũ)")
    ingest.add_argument("--accept-damaged", action="store_true",
                        help="PDF bị hỏng hoặc bị cắt cụt: vẫn lưu các trang đọc được, ghi lại hư hỏng, đánh dấu cần kiểm tra")
    ingest.add_argument("--confidentiality", type=_level, metavar="thường|mật|tối-mật|tuyệt-mật",
                        help="mức mật ít nhất của các tệp (dấu MẬT, TỐI MẬT đọc được trên trang cao hơn thì theo dấu)")

    show = command("show", "archive:cmd_show", "xem một tài liệu")
    show.add_argument("id", type=document_id, metavar="MÃ", help=ID_HELP)
    _json(show)
    show.add_argument("--record", action="store_true", help="in cả siêu dữ liệu lưu trữ (Thông tư 05/2025)")

    review = command("review", "archive:cmd_review", "liệt kê các trường đọc được với độ tin cậy thấp, cần kiểm tra")
    _json(review, "mỗi tài liệu một dòng JSON, rồi dòng tổng kết")
    review.add_argument("--limit", type=positive, metavar="N", help="chỉ N tài liệu đầu (mặc định: tất cả)")

    set_field = command("set", "archive:cmd_set", "sửa một trường của tài liệu (ghi nhật ký)")
    set_field.add_argument("id", type=document_id, metavar="MÃ", help=ID_HELP)
    set_field.add_argument("assignments", nargs="+", metavar="TRƯỜNG=GIÁ_TRỊ",
                           help="ví dụ number=15/QĐ-SNV issue_date=27/12/2024; danh sách cách nhau bởi |")
    set_field.add_argument("--by", metavar="NGƯỜI_SỬA", help="người sửa (mặc định: tên người dùng hệ thống)")
    _json(set_field)

    withdraw = command("withdraw", "archive:cmd_withdraw", "rút tài liệu khỏi kho (khỏi tìm kiếm; giữ tệp và nhật ký)")
    withdraw.add_argument("id", type=document_id, metavar="MÃ", help=ID_HELP)
    withdraw.add_argument("--reason", metavar="LÝ_DO", help="lý do (bắt buộc; ghi vào nhật ký)")
    withdraw.add_argument("--undo", action="store_true", help="đưa lại vào kho (như sohoa reinstate)")
    _json(withdraw)

    reinstate = command("reinstate", "archive:cmd_reinstate", "đưa tài liệu đã rút trở lại kho")
    reinstate.add_argument("id", type=document_id, metavar="MÃ", help=ID_HELP)
    reinstate.add_argument("--reason", metavar="LÝ_DO", help="lý do (bắt buộc; ghi vào nhật ký)")
    _json(reinstate)

    search = command("search", "search:cmd_search", "tìm tài liệu")
    search.add_argument("query", metavar="TỪ_KHÓA", nargs="?", default="",
                        help='có dấu hay không dấu; "cụm từ" trong ngoặc kép; số ký hiệu')
    _json(search)
    search.add_argument("--limit", type=positive, default=10, metavar="N",
                        help="số kết quả in ra nhiều nhất (mặc định 10); tổng số tìm thấy vẫn được báo")
    search.add_argument("--from", dest="date_from", metavar="NGÀY", help="ban hành từ ngày (31/12/2024, 12/2024, 2024)")
    search.add_argument("--to", dest="date_to", metavar="NGÀY", help="ban hành đến hết ngày")
    search.add_argument("--type", metavar="LOẠI", help="loại văn bản: tên (\"quyết định\") hoặc ký hiệu (QĐ)")
    search.add_argument("--agency", metavar="CƠ_QUAN", help="cơ quan ban hành (\"Sở Nội vụ\", \"noi vu\")")
    search.add_argument("--profile", metavar="HỒ_SƠ", help="hồ sơ xử lý (tên thư mục nhận trong inbox/)")
    search.add_argument("--signature", metavar="TRẠNG_THÁI",
                        help="trạng thái chữ ký số: signed (đã ký), unsigned (không ký), invalid (chữ ký không hợp lệ)")
    search.add_argument("--sort", choices=SORTS, default="relevance", metavar="CÁCH_XẾP",
                        help="relevance: phù hợp nhất trước (mặc định); date: mới nhất trước")

    reindex = command("reindex", "search:cmd_reindex", "dựng lại chỉ mục tìm kiếm từ danh mục")
    reindex.add_argument("--batch-size", type=positive, default=DEFAULT_BATCH, metavar="N",
                         help=f"số tài liệu mỗi lần ghi (mặc định {DEFAULT_BATCH}; bộ nhớ dùng tỉ lệ với số này)")
    _json(reindex)

    check = command("check", "search:cmd_check", "đối chiếu chỉ mục tìm kiếm với danh mục")
    _json(check)
    check.add_argument("--repair", action="store_true",
                       help="sửa các mục chỉ mục khác danh mục, thêm mục thiếu, bỏ mục thừa")

    watch = command("watch", "service:cmd_watch",
                    "dịch vụ theo dõi thư mục: tự số hóa bản quét thả vào inbox/<hồ sơ>/")
    _json(watch, "in mỗi sự kiện một dòng JSON thay cho câu thông báo")

    status = command("status", "service:cmd_status", "tình hình dịch vụ theo dõi thư mục")
    _json(status)

    serve = command("serve", "web:cmd_serve",
                    "chạy trang web (đăng nhập, tìm kiếm, đọc tài liệu) cùng dịch vụ theo dõi thư mục")
    serve.add_argument("--bind", default="127.0.0.1:8000", metavar="ĐỊA_CHỈ:CỔNG",
                       help="nơi trang web nghe (mặc định 127.0.0.1:8000, chỉ máy này; 0.0.0.0:8000: mạng nội bộ)")
    _json(serve, "in mỗi sự kiện một dòng JSON thay cho câu thông báo")

    user = commands.add_parser("user", parents=[common], help="người dùng trang web: thêm, liệt kê, đổi vai trò, mật khẩu",
                               description="người dùng trang web: thêm, liệt kê, đổi vai trò, mật khẩu")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="LỆNH", title="các lệnh")
    password_help = ("đọc mật khẩu từ đầu vào chuẩn (cũng tự làm thế khi đầu vào không phải bàn phím); "
                     "hoặc đặt biến môi trường SOHOA_PASSWORD; không bao giờ ghi mật khẩu trên dòng lệnh")

    def user_command(name: str, handler: str, help: str) -> argparse.ArgumentParser:
        # allow_abbrev=False: `--password X` must be refused, never read as --password-stdin
        sub = user_commands.add_parser(name, parents=[common], help=help, description=help, allow_abbrev=False)
        sub.set_defaults(handler=handler)
        if name != "list":
            sub.add_argument("name", metavar="TÊN", help="tên đăng nhập")
        _json(sub)
        return sub

    levels = "thường|mật|tối-mật|tuyệt-mật"
    roles = "văn-thư|cán-bộ|lưu-trữ|quản-trị"
    user_add = user_command("add", "web:cmd_user_add", "thêm người dùng (mật khẩu: đầu vào chuẩn hoặc SOHOA_PASSWORD)")
    user_add.add_argument("--role", required=True, metavar=roles, help="vai trò")
    user_add.add_argument("--clearance", metavar=levels, help="mức mật cao nhất được xem (mặc định thường)")
    user_add.add_argument("--password-stdin", action="store_true", help=password_help)
    user_command("list", "web:cmd_user_list", "liệt kê người dùng")
    user_set = user_command("set", "web:cmd_user_set", "đổi vai trò, mức mật, khóa hoặc mở khóa người dùng")
    user_set.add_argument("--role", metavar=roles, help="vai trò mới")
    user_set.add_argument("--clearance", metavar=levels, help="mức mật mới")
    user_state = user_set.add_mutually_exclusive_group()
    user_state.add_argument("--disable", action="store_true", help="khóa: không đăng nhập được nữa (giữ nhật ký)")
    user_state.add_argument("--enable", action="store_true", help="mở khóa")
    user_password = user_command("password", "web:cmd_user_password",
                                 "đặt mật khẩu mới (đầu vào chuẩn hoặc SOHOA_PASSWORD)")
    user_password.add_argument("--password-stdin", action="store_true", help=password_help)

    verify = command("verify", "verify:cmd_verify", "kiểm tra mã SHA-256 và chữ ký số của tài liệu đã lưu trữ")
    verify.add_argument("ids", nargs="*", type=document_id, metavar="MÃ", help="mã các tài liệu cần kiểm tra")
    verify.add_argument("--all", action="store_true", help="kiểm tra mọi tài liệu trong kho")
    verify_format = verify.add_mutually_exclusive_group()
    verify_format.add_argument("--json", action="store_true", help="mỗi tài liệu một dòng JSON, rồi dòng tổng kết")
    verify_format.add_argument("--csv", action="store_true", help="bảng CSV")
    verify.add_argument("--report", metavar="THƯ_MỤC", help="ghi báo cáo JSON và CSV vào thư mục này")
    verify.add_argument("--online", action="store_true",
                        help="kiểm tra thu hồi trực tuyến (OCSP/CRL), không chỉ dữ liệu trong tệp")

    audit = command("audit", "verify:cmd_audit", "kiểm tra toàn vẹn (SHA-256) mọi tệp lưu trữ, ghi nhật ký và báo cáo")
    audit_size = audit.add_mutually_exclusive_group()
    audit_size.add_argument("--sample", type=positive, metavar="N", help="chỉ N tài liệu lâu chưa được kiểm tra nhất")
    audit_size.add_argument("--cycle", action="store_true",
                            help="phần của một lần theo [audit] cycle_days và interval_hours")
    audit.add_argument("--out", metavar="THƯ_MỤC", help="ghi thêm báo cáo JSON và CSV vào thư mục này")
    _json(audit, "mỗi tài liệu một dòng JSON, rồi dòng tổng kết")

    agency = commands.add_parser("agency", parents=[common], help="tên và mã của cơ quan lưu trữ",
                                 description="tên và mã của cơ quan lưu trữ")
    agency_commands = agency.add_subparsers(dest="agency_command", required=True, metavar="LỆNH", title="các lệnh")
    agency_set = agency_commands.add_parser("set", parents=[common],
                                            help="đổi tên/mã cơ quan (tạo lại danh tính ký thử nghiệm)",
                                            description="đổi tên/mã cơ quan (tạo lại danh tính ký thử nghiệm)")
    agency_set.add_argument("--name", metavar="TÊN", help="tên mới của cơ quan")
    agency_set.add_argument("--code", metavar="MÃ", help="mã định danh mới của cơ quan")
    _json(agency_set)
    agency_set.set_defaults(handler="home:cmd_agency_set")

    timestamp = commands.add_parser("timestamp", parents=[common], help="dấu thời gian lưu trữ (B-LTA)",
                                    description="dấu thời gian lưu trữ (B-LTA)")
    timestamp_commands = timestamp.add_subparsers(dest="timestamp_command", required=True, metavar="LỆNH",
                                                  title="các lệnh")
    renew = timestamp_commands.add_parser(
        "renew", parents=[common],
        help="thêm dấu thời gian mới cho tài liệu B-LTA có dấu thời gian sắp hết hạn",
        description="thêm dấu thời gian mới cho tài liệu B-LTA có dấu thời gian sắp hết hạn",
    )
    renew.add_argument("--within-days", type=whole, metavar="N",
                       help="gia hạn khi hết hạn trong vòng N ngày (mặc định [verify] renew_within_days)")
    _json(renew, JSON_LINES_HELP)
    renew.set_defaults(handler="verify:cmd_timestamp_renew")

    token = commands.add_parser("token", parents=[common], help="mã truy cập cho máy gọi API (/api/)",
                                description="mã truy cập cho máy gọi API (/api/)")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="LỆNH", title="các lệnh")
    token_add = token_commands.add_parser("add", parents=[common], help="cấp mã mới (in mã một lần duy nhất)",
                                          description="cấp mã mới (in mã một lần duy nhất)")
    token_add.add_argument("user", metavar="NGƯỜI_DÙNG", help="tên đăng nhập mà máy gọi API thay mặt")
    token_add.add_argument("--name", metavar="TÊN", help="tên gợi nhớ của mã (máy nào, việc gì)")
    _json(token_add)
    token_add.set_defaults(handler="tokens:cmd_token_add")
    token_list = token_commands.add_parser("list", parents=[common], help="liệt kê các mã (không in mã)",
                                           description="liệt kê các mã (không in mã)")
    token_list.add_argument("user", nargs="?", metavar="NGƯỜI_DÙNG", help="chỉ các mã của người dùng này")
    _json(token_list)
    token_list.set_defaults(handler="tokens:cmd_token_list")
    token_revoke = token_commands.add_parser("revoke", parents=[common], help="thu hồi một mã",
                                             description="thu hồi một mã")
    token_revoke.add_argument("id", type=positive, metavar="MÃ_SỐ", help="số của mã (sohoa token list)")
    _json(token_revoke)
    token_revoke.set_defaults(handler="tokens:cmd_token_revoke")
    return parser


def _home_problem(root) -> str | None:
    """Why the home cannot be a folder there (a file in its place or on its way), or None."""
    for place in (root, *root.parents):
        if place.exists() or place.is_symlink():
            if place.is_dir():
                return None
            what = "là một tệp" if place == root else f"nằm dưới {place}, là một tệp"
            return f"{root}: thư mục dữ liệu (--home hoặc $SOHOA_HOME) {what}, không phải thư mục"
    return None


def _handler(name: str):
    module, function = name.split(":")
    return getattr(importlib.import_module(f"commands.{module}"), function)


def run(argv: list[str] | None = None) -> int:
    # Before anything is created: the home is for the service's user and group only.
    os.umask(UMASK)
    args = build_parser().parse_args(argv)
    args.home = getattr(args, "home", None)
    args.verbose = getattr(args, "verbose", False)
    home_root = resolve_home(args.home)
    problem = _home_problem(home_root)
    if problem:
        error(problem)
        return EXIT_USAGE
    if args.command != "init" and not has_config(home_root):
        # A mistyped --home, or a command run from the wrong folder, once made a new empty
        # archive with a new signing key there: nothing is created, the user is told how.
        error(not_a_home(home_root))
        return EXIT_USAGE
    setup_logging(home_root, args.verbose)
    from core.patches import PatchVersionError, apply_all

    try:
        apply_all()  # third-party corrections, before any work (logs a skipped one)
    except PatchVersionError as refused:  # a library other than the one a patch was written for
        error(str(refused))
        return EXIT_FAILED
    try:
        return _handler(args.handler)(args)
    except UserError as failure:
        error(str(failure))
        return EXIT_FAILED
    except KeyboardInterrupt:
        error("đã dừng theo yêu cầu")
        return 130
    except BrokenPipeError:
        raise  # the reader has gone: main() ends quietly
    except Exception as failure:
        said = _known_failure(failure)
        if said is None:
            if args.verbose:  # -v: the whole traceback, for whoever debugs it
                raise
            # A bug or an environment fault: one line naming it and where its traceback is,
            # never a traceback in the clerk's face (the log file keeps it).
            import logging

            from core.errors import describe

            logging.getLogger("sohoa").exception("unexpected error in %s", args.command)
            said = (f"{describe(failure)[1]}; chi tiết trong {home_root / 'logs' / 'sohoa.log'} "
                    "(chạy lại với -v để xem đầy đủ)")
        error(said)
        return EXIT_FAILED


def _known_failure(failure: Exception) -> str | None:
    """The one line for an error the pipeline raises on purpose; None for a bug. Imported here:
    the command that raised it has imported these modules already."""
    from index import SearchIndexError
    from core.config import ConfigError
    from signing.errors import PinRejected, SigningError

    if isinstance(failure, (ConfigError, SearchIndexError)):
        return str(failure)
    if isinstance(failure, PinRejected):  # one try of the token's few spent: stop at once
        return (f"ký số: {failure.reason}; dừng ngay, không thử tiếp để token không bị khóa "
                "(các tệp chưa xử lý vẫn nguyên chỗ cũ)")
    if isinstance(failure, SigningError):  # the identity could not be opened: nothing was signed
        return f"ký số: {failure.reason}"
    return None


def main(argv: list[str] | None = None) -> int:
    """The console script: run(), and a reader that stops early (`sohoa search x | head -1`)
    ends the command quietly, as it would `grep` (Python's documented recipe for SIGPIPE)."""
    try:
        code = run(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13  # as a process ended by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
