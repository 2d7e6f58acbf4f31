"""`sohoa ingest`, `show`, `review`, `set`, `withdraw`, `reinstate`: the records of the archive."""

from __future__ import annotations

import contextlib
import logging
import sys

from commands.common import (
    EXIT_FAILED, EXIT_OK, EXIT_SIGNATURE_BROKEN, UserError, open_home, open_search_index, print_json, quoted,
)
from commands.common import error as say_error  # `error` names the exceptions caught below

log = logging.getLogger("sohoa")

BROKEN_SIGNATURE = ("modified", "invalid")  # received_signature_verdict's statuses for EXIT_SIGNATURE_BROKEN


def _document_json(result) -> dict:
    from core.names import printable, shown

    return {
        "id": result.id,
        "file": shown(printable(str(result.source))),
        "status": "duplicate" if result.duplicate else "archived",
        "pdfa": str(result.pdfa_path),
        "pages": result.page_count,
        "original_sha256": result.original_sha256,
        "pdfa_sha256": result.pdfa_sha256,
        "input_signature": result.input_signature,
        "metadata": result.metadata,
        "index_pending": result.index_pending,  # archived; searchable once the index writer is free
    }


def cmd_ingest(args) -> int:
    from pathlib import Path

    from core.errors import describe
    from index import SearchIndexError
    from ocr.errors import InputRejected
    from ocr.pdfa import PdfaInvalid
    from ocr.tesseract import TesseractError
    from core.archive import ArchiveStore
    from core.catalog import Catalog
    from pipeline.ingest import IngestOptions, ingest_file
    from signing.errors import PinRejected, SigningError
    from core.names import printable, shown

    from pipeline.index_queue import wait_until_indexed
    from pipeline.startup_checks import check_configuration

    home = open_home(args)
    config = home.config()
    check_configuration(home.config_path, config)  # before any file is touched, in one line
    failures = broken_signatures = 0
    waiting: set[int] = set()  # archived, their index entries waiting for the writer
    with Catalog(home.catalog_path) as catalog, open_search_index(home, config.index_engine, catalog) as index, \
            _agency_signer(config, home) as signer:
        level = getattr(args, "confidentiality", None)
        options = IngestOptions(force_ocr=args.force_ocr, signer=signer, accept_damaged=args.accept_damaged,
                                metadata_defaults={"confidentiality": level.label} if level else {})
        archive = ArchiveStore(home.archive_dir)
        for name in args.files:
            # Opened by the name as given (a share may hold NFD names); recorded in NFC.
            path = Path(name)
            # Shown decoded (a non-UTF-8 name's bytes as Vietnamese Windows text) and escaped.
            label = shown(printable(name))
            try:
                if not path.is_file():
                    raise InputRejected("không tìm thấy tệp" if not path.exists() else "không phải là tệp")
                result = ingest_file(path, home=home, config=config, catalog=catalog, archive=archive,
                                     index=index, options=options)
            except PinRejected:
                raise  # the token refused the PIN mid-run: trying the next files would spend tries
            except (InputRejected, PdfaInvalid, TesseractError, SigningError) as error:
                failures += 1
                code, reason = describe(error)  # the code and words the watch service gives too
                say_error(f"{label}: {reason}")
                log.info("refused %s: %s", label, reason)
                if args.json:
                    print_json({"file": label, "status": "failed", "error": code, "reason": reason})
                continue
            except SearchIndexError:
                raise  # the index is unusable: stop, every later file would fail the same way
            except Exception as error:  # a bug or an environment fault: say so, keep going
                failures += 1
                log.exception("unexpected error on %s", label)
                say_error(f"{label}: lỗi không mong đợi ({type(error).__name__}: {error}); "
                          f"chi tiết trong {home.root / 'logs' / 'sohoa.log'}")
                if args.json:
                    print_json({"file": label, "status": "failed", "error": describe(error)[0], "reason": str(error)})
                continue
            verdict = result.input_signature or {}
            broken = verdict.get("status") in BROKEN_SIGNATURE
            broken_signatures += broken
            if result.index_pending and not result.duplicate:
                waiting.add(result.id)
            damaged = (result.metadata or {}).get("damaged") if not result.duplicate else None
            flagged = (result.metadata or {}).get("needs_review") if not result.duplicate else None
            if args.json:
                print_json(_document_json(result))
            elif result.duplicate:
                print(f"= {label}: đã có trong kho (mã {result.id}), không lưu lại")
            else:
                number = result.metadata.get("number")
                print(f"{'⚠' if broken or damaged or flagged else '✓'} {label} → mã {result.id}, {result.page_count} trang"
                      + (f", số {number}" if number else "")
                      + (" (đã lưu; chỉ mục đang chờ, chưa tìm được)" if result.index_pending else ""))
                if damaged:  # archived as far as it could be read: never a plain ✓
                    print(f"  ⚠ PDF bị hỏng: khai báo {damaged['declared_pages']} trang, lưu {damaged['read_pages']} "
                          f"trang đọc được ({'; '.join(damaged['reasons'])}); cần kiểm tra lại với bản giấy")
                _print_header_warnings(result)
                if flagged:  # archived all the same: an archive loses nothing, but never silently
                    print(f"  ⚠ cần kiểm tra: {'; '.join(flagged)} (vẫn lưu; xem `sohoa review`, "
                          f"không phải tài liệu thì: sohoa withdraw {result.id} --reason \"…\")")
            if not args.json and verdict.get("status", "none") != "none":
                mark = "⚠" if verdict["status"] != "valid" else "✓"
                print(f"  {mark} {verdict['message']}" + (" (vẫn lưu nguyên bản nhận được)" if broken else ""))
        _wait_for_the_index(catalog, index, waiting, args, wait_until_indexed)
    if failures:
        return EXIT_FAILED
    return EXIT_SIGNATURE_BROKEN if broken_signatures else EXIT_OK


def _wait_for_the_index(catalog, index, waiting: set[int], args, wait_until_indexed) -> None:
    """Another process held the index writer: wait for it (bounded), then say plainly what
    is searchable and what still waits (the service, or the next sohoa run, indexes it)."""
    if not waiting:
        return
    still = sorted(wait_until_indexed(catalog, index, waiting))
    done = sorted(waiting - set(still))
    out = sys.stderr if args.json else sys.stdout
    if done:
        print(f"✓ đã vào chỉ mục tìm kiếm: mã {', '.join(map(str, done))}", file=out)
    if still:
        print(f"⚠ {len(still)} tài liệu đã lưu vào kho nhưng chưa vào chỉ mục tìm kiếm (mã "
              f"{', '.join(map(str, still))}): chỉ mục đang bận; dịch vụ theo dõi thư mục hoặc lần chạy "
              "sohoa sau sẽ đưa vào (xem: sohoa check)", file=out)


def cmd_show(args) -> int:
    from pipeline import withdraw as withdrawal
    from core.archive import ArchiveStore
    from core.catalog import Catalog
    from core.confidentiality import Level
    from core.events import outcome_label, step_label
    from core.record_metadata import RecordMetadata
    from pipeline import corrections
    from core.lookup import retention_periods
    from core.record_defaults import CODE_LISTS
    from pipeline.header_present import record_lines, show_lines
    from pipeline.header_store import duplicates_of

    home = open_home(args)
    with Catalog(home.catalog_path) as catalog:
        row = catalog.get(args.id)
        if row is None:
            raise UserError(f"không có tài liệu mã {args.id}")
        archive = ArchiveStore(home.archive_dir)
        pages = catalog.pages(row.id)
        events = catalog.events(row.id)
        retention = retention_periods(catalog.alias, active_only=False)  # the admin's labels
        duplicates = duplicates_of(catalog, row.id)
        withdrawn = withdrawal.withdrawal_of(catalog, row)
    if args.json:
        print_json({
            "id": row.id,
            "original_name": row.original_name,
            "received_at": row.received_at,
            "pages": row.page_count,
            "original": str(archive.path(row.original_file)),
            "original_sha256": row.original_sha256,
            "pdfa": str(archive.path(row.pdfa_file)),
            "pdfa_sha256": row.pdfa_sha256,
            "sidecar": str(archive.path(row.sidecar_file)),
            "metadata": row.metadata,
            # who may see it (the catalog's column the web filters on), as a number and in words
            "confidentiality": {"level": row.confidentiality, "label": Level(row.confidentiality).label},
            "duplicates": duplicates,  # same number, symbol, issuing body and year
            "withdrawn": withdrawn.as_dict() if withdrawn else None,  # out of search, files kept
            "page_details": [
                {"number": p.number, "text_source": p.text_source, "dpi": p.dpi, "ocr_confidence": p.ocr_confidence,
                 "rotation": p.rotation, "skew": p.skew, "blank": p.blank}
                for p in pages
            ],
            # step and outcome are the stable codes; the labels are what `show` prints
            "events": [{"step": e.step, "step_label": step_label(e.step), "outcome": e.outcome,
                        "outcome_label": outcome_label(e.outcome, e.step), "at": e.at, "detail": e.detail} for e in events],
        })
        return EXIT_OK
    meta = RecordMetadata.from_mapping(row.metadata)
    print(f"Tài liệu mã {row.id}: {row.original_name}")
    if withdrawn:
        print(f"  ĐÃ RÚT KHỎI KHO lúc {withdrawn.at} — lý do: {withdrawn.reason}"
              + (f" ({withdrawn.by})" if withdrawn.by else "") + "; không còn trong kết quả tìm kiếm, tệp vẫn lưu")
    print(f"  Số ký hiệu: {meta.number or '(chưa đọc được)'}")
    print(f"  {'Độ mật:':<12}{Level(row.confidentiality).label}")
    print("\n".join(show_lines(meta.as_dict(), duplicates)))
    print(f"  Số trang:   {row.page_count}")
    print(f"  Nguồn chữ:  {_text_sources_line(pages)}")
    print(f"  Nhận lúc:   {row.received_at}")
    print(f"  Bản PDF/A:  {archive.path(row.pdfa_file)}")
    print(f"              SHA-256 {row.pdfa_sha256}")
    print(f"  Bản gốc:    {archive.path(row.original_file)}")
    print(f"              SHA-256 {row.original_sha256}")
    if args.record and meta.record:
        print("\n".join(record_lines(meta.record, {**CODE_LISTS, "retention": retention})))
    print("  Nhật ký xử lý:")
    width = max((len(step_label(e.step)) for e in events), default=0)
    for event in events:
        note = _event_note(event, corrections.label)
        print(f"    {event.at}  {step_label(event.step):<{width}}  {outcome_label(event.outcome, event.step)}"
              + (f" ({note})" if note else ""))
    return EXIT_OK


_APPEARANCE = {"visible": "hiện trên trang", "invisible": "không hiện trên trang"}


def _event_note(event, field_label) -> str | None:
    """What a trail line adds in words: why a step was skipped, which field a correction
    changed and who changed it, how the document was signed. What the event does not hold
    is left out rather than shown as a placeholder."""
    from core.events import Step

    detail = event.detail if isinstance(event.detail, dict) else {}
    if detail.get("reason"):
        return detail["reason"]
    if event.step == Step.CORRECTED and detail.get("field"):
        return ", ".join(filter(None, (field_label(detail["field"]), detail.get("by"))))
    if event.step == Step.SIGNED and event.outcome == "ok":
        # the signature field's name (ChuKySoCoQuan) is the agency's signature, said so
        level = f"mức {detail['level']}" if detail.get("level") else None
        return ", ".join(filter(None, ("chữ ký cơ quan", level, _APPEARANCE.get(detail.get("appearance")))))
    return None


_TEXT_SOURCE_NAMES = {"ocr": "nhận dạng (OCR)", "redone-ocr": "nhận dạng lại (bỏ lớp chữ ẩn cũ của máy quét)",
                      "kept": "giữ lớp chữ có sẵn", "existing": "giữ lớp chữ có sẵn"}


def _text_sources_line(pages) -> str:
    """Where each page's text came from, pages grouped by source: `trang 1, 3: nhận dạng (OCR)`."""
    groups: dict[str, list[str]] = {}
    for p in pages:
        groups.setdefault(_TEXT_SOURCE_NAMES.get(p.text_source, p.text_source), []).append(str(p.number))
    return "; ".join(f"trang {', '.join(numbers)}: {name}" for name, numbers in groups.items())


def _print_header_warnings(result) -> None:
    duplicates = result.metadata.get("duplicate_of")
    if duplicates:
        print(f"  ⚠ trùng số, ký hiệu, cơ quan ban hành và năm với tài liệu mã {', '.join(map(str, duplicates))}"
              " (vẫn lưu; xem `sohoa show`)")
    if result.metadata.get("review"):
        print(f"  cần kiểm tra {len(result.metadata['review'])} trường (xem `sohoa review`)")


def cmd_review(args) -> int:
    from core.catalog import Catalog
    from pipeline.header_present import flagged_lines, review_lines
    from pipeline.header_store import flagged_documents, review_queue

    home = open_home(args)
    threshold = home.config().records.review_threshold
    with Catalog(home.catalog_path) as catalog:
        items = review_queue(catalog, limit=args.limit)
        flagged = flagged_documents(catalog, limit=args.limit)
    if args.json:
        for document_id, name, reasons in flagged:
            print_json({"id": document_id, "original_name": name, "needs_review": reasons})
        for document_id in sorted({item.document_id for item in items}):
            mine = [item for item in items if item.document_id == document_id]
            print_json({"id": document_id, "original_name": mine[0].original_name, "fields": [
                {"field": i.field, "value": i.value, "confidence": i.confidence, "page": i.page, "source": i.source,
                 **({"box": list(i.box)} if i.box else {})}
                for i in mine]})
        # Always a last line, as verify and audit end theirs: an empty review is said, not silent.
        print_json({"summary": {"documents": len({d for d, _, _ in flagged} | {i.document_id for i in items}),
                                "fields": len(items), "flagged": len(flagged)}})
        return EXIT_OK
    print("\n".join([*review_lines(items, threshold), *flagged_lines(flagged)]))
    return EXIT_OK


def cmd_set(args) -> int:
    from core.archive import ArchiveStore
    from core.catalog import Catalog
    from pipeline import corrections

    home = open_home(args)
    config = home.config()
    by = corrections.who_is_editing(args.by)
    with Catalog(home.catalog_path) as catalog, open_search_index(home, config.index_engine, catalog) as index:
        try:
            changes = corrections.correct(
                args.id, args.assignments, by=by, catalog=catalog, archive=ArchiveStore(home.archive_dir),
                index=index, defaults=config.records, language=config.language,
            )
        except corrections.CorrectionError as error:
            raise UserError(str(error)) from None
    if args.json:
        print_json({"id": args.id, "by": by, "changes": [
            {"field": c.field, "label": corrections.label(c.field), "old": c.old, "new": c.new} for c in changes]})
        return EXIT_OK
    if not changes:
        print(f"[mã {args.id}] không có gì thay đổi.")
    for change in changes:
        print(f"[mã {args.id}] {corrections.label(change.field)}: {quoted(change.old)} → {quoted(change.new)} ({by})")
    return EXIT_OK


def cmd_withdraw(args) -> int:
    """Withdraw (or with --undo, reinstate) a record: out of search, files and trail kept."""
    if args.undo:
        return cmd_reinstate(args)
    from pipeline import withdraw as withdrawal
    from core.catalog import Catalog
    from pipeline import corrections

    home = open_home(args)
    by = corrections.who_is_editing(None)
    with Catalog(home.catalog_path) as catalog:
        row = catalog.get(args.id)
        if row is not None and row.withdrawn_at is not None:  # said before the index is opened
            if args.json:
                print_json({"id": args.id, "status": "already-withdrawn", "at": row.withdrawn_at,
                            "reason": row.withdrawn_reason})
                return EXIT_OK
            print(f"[mã {args.id}] đã được rút khỏi kho lúc {row.withdrawn_at} (lý do: {row.withdrawn_reason});"
                  " không làm lại. Đưa lại vào kho: sohoa reinstate " + str(args.id) + ' --reason "…"')
            return EXIT_OK
        with open_search_index(home, home.config().index_engine, catalog) as index:
            try:
                done = withdrawal.withdraw(catalog, index, args.id, reason=args.reason, by=by)
            except withdrawal.WithdrawError as error:
                raise UserError(str(error)) from None
    if args.json:
        print_json({"id": args.id, "status": "withdrawn", "at": done.at, "reason": done.reason, "by": by})
        return EXIT_OK
    print(f"[mã {args.id}] đã rút khỏi kho lúc {done.at} ({by}) — lý do: {done.reason}. "
          "Không còn trong kết quả tìm kiếm; các tệp và nhật ký vẫn được lưu và kiểm tra toàn vẹn.")
    return EXIT_OK


def cmd_reinstate(args) -> int:
    from pipeline import withdraw as withdrawal
    from core.catalog import Catalog
    from pipeline import corrections

    home = open_home(args)
    by = corrections.who_is_editing(None)
    with Catalog(home.catalog_path) as catalog, \
            open_search_index(home, home.config().index_engine, catalog) as index:
        try:
            at = withdrawal.reinstate(catalog, index, args.id, reason=args.reason, by=by)
        except withdrawal.WithdrawError as error:
            raise UserError(str(error)) from None
    if args.json:
        print_json({"id": args.id, "status": "reinstated", "at": at, "reason": args.reason, "by": by})
        return EXIT_OK
    print(f"[mã {args.id}] đã đưa lại vào kho lúc {at} ({by}); tìm kiếm lại được.")
    return EXIT_OK


def _agency_signer(config, home):
    """The signing identity, opened once for the whole run (the token's PIN entered once,
    in turn with the watch service's workers: signing.pin_pause); nothing when signing is
    off. A refused PIN stops the run before the first file: each file would spend a try."""
    if not config.signing.enabled:
        return contextlib.nullcontext(None)
    from signing.pin_pause import LoginGuard
    from signing.sign import open_agency_signer

    guard = LoginGuard(home.root, try_when_paused=True, records_refusal=False)
    return open_agency_signer(config.signing, config.verify.trust_roots, guard)

