"""`sohoa init` and `sohoa agency set`: the home and the agency it archives for."""

from __future__ import annotations

import sys

from commands.common import EXIT_OK, UserError, open_home, print_json
from core.home import resolve_home


def _ask(prompt: str) -> str | None:
    """One answer typed at the terminal; empty (or Ctrl-D) keeps the default."""
    try:
        return input(prompt).strip() or None
    except EOFError:
        print(file=sys.stderr)
        return None


def cmd_init(args) -> int:
    from index import open_index
    from pipeline import agency
    from core.catalog import Catalog
    from core.home import Home, init_home, tighten_modes
    from watch_folders.paths import prepare_folders
    from watch_folders.settings import load_watch_settings

    root = resolve_home(args.home)
    name, code = args.agency_name, args.agency_code
    if Home(root).exists():
        if name is not None or code is not None:
            raise UserError(f"kho {root} đã có; đổi tên/mã cơ quan bằng: sohoa --home {root} agency set --name … --code …")
    elif sys.stdin.isatty() and (name is None or code is None):
        name = name if name is not None else _ask(f"Tên cơ quan lưu trữ [{agency.DEFAULT_NAME}]: ")
        code = code if code is not None else _ask("Mã định danh cơ quan (để trống nếu chưa có): ")
    elif name is None:
        print(f"  Tên cơ quan: dùng tên mặc định «{agency.DEFAULT_NAME}» (chưa cho --agency-name); "
              f"đổi sau bằng: sohoa --home {root} agency set --name …", file=sys.stderr)
    try:
        home, created = init_home(root, agency.template_for(name, code))
        agency.ensure_test_identity(home)
    except agency.AgencyError as error:
        raise UserError(str(error)) from None
    Catalog(home.catalog_path).close()
    config = home.config()
    open_index(home.index_dir, config.index_engine).close()
    tightened = 0 if created else tighten_modes(home.root)
    signing = config.signing
    test_identity = signing.enabled and signing.uses_test_identity(home.root)
    settings = load_watch_settings(home.config_path)
    inboxes = prepare_folders(home, [profile.name for profile in settings.profiles])
    if args.json:
        print_json({
            "home": str(home.root), "created": created, "config": str(home.config_path),
            "permissions_tightened": tightened, "agency_name": config.agency_name,
            "agency_code": config.records.agency_code or None,
            "signing": {"enabled": signing.enabled, "level": signing.level if signing.enabled else None,
                        "test_identity": bool(test_identity)},
            "inboxes": [{"profile": p.name, "title": p.title, "path": str(inbox)}
                        for p, inbox in zip(settings.profiles, inboxes)],
        })
        return EXIT_OK
    if created:
        print(f"Đã tạo kho dữ liệu tại {home.root}")
    else:
        print(f"Kho dữ liệu đã có sẵn tại {home.root} (giữ nguyên cấu hình)")
        if tightened:
            print(f"  Quyền truy cập: đã bỏ quyền của người dùng khác trên {tightened} tệp và thư mục "
                  "(phiên bản cũ để ai trên máy cũng đọc được kho); nay chỉ người dùng và nhóm của dịch vụ")
    print(f"  Cấu hình: {home.config_path}")
    if test_identity:
        print(f"  Ký số: danh tính THỬ NGHIỆM, không có giá trị pháp lý ({signing.identity.path});"
              " dùng token thật: xem README, mục «Chữ ký số»")
    elif signing.enabled:
        print(f"  Ký số: PAdES {signing.level}")
    print("  Thư mục nhận bản quét (mỗi hồ sơ một thư mục; chạy `sohoa watch` để tự xử lý):")
    for profile, inbox in zip(settings.profiles, inboxes):
        print(f"    {inbox}/  ({profile.title})")
    return EXIT_OK


def cmd_agency_set(args) -> int:
    from pipeline import agency

    home = open_home(args)
    if args.name is None and args.code is None:
        raise UserError("cho biết tên mới (--name) và/hoặc mã mới (--code) của cơ quan")
    try:
        renewed = agency.set_agency(home, name=args.name, code=args.code)
    except agency.AgencyError as error:
        raise UserError(str(error)) from None
    config = home.config()
    code = config.records.agency_code
    if args.json:
        print_json({"agency_name": config.agency_name, "agency_code": code or None,
                    "test_identity_renewed": bool(renewed), "previous_identity": str(renewed) if renewed else None})
        return EXIT_OK
    print(f"Cơ quan: {config.agency_name}" + (f" (mã {code})" if code else ""))
    if renewed:
        print(f"  Ký số: đã tạo danh tính THỬ NGHIỆM mới mang tên, mã mới; danh tính cũ giữ tại {renewed} "
              "và chứng thư gốc cũ vẫn được tin để kiểm tra các chữ ký cũ")
    return EXIT_OK
