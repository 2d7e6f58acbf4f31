"""`sohoa verify`, `audit`, `timestamp renew`: the archive still holds what it says."""

from __future__ import annotations

import dataclasses
import sys

from commands.common import (
    EXIT_FAILED, EXIT_OK, UserError, decimal, open_home, open_search_index, print_json, report_folder,
)
from commands.common import error as say_error


def cmd_audit(args) -> int:
    from pipeline import audit
    from core.catalog import Catalog

    home = open_home(args)
    home.config()  # a broken config is said before anything is read
    out = report_folder(args.out, "báo cáo (--out)")
    cycle = audit.load_audit_settings(home.config_path)
    sample = args.sample
    if args.cycle:
        with Catalog(home.catalog_path) as catalog:
            sample = audit.scheduled_sample(catalog.count_documents(), cycle)

    def said(result) -> None:
        if args.json:
            print_json(result.as_dict())
        elif not result.ok:
            print(f"✗ {result.line()}")
        elif args.verbose:
            print(f"✓ {result.line()}")

    run, reports = audit.audit_home(home, sample=sample, out=out, on_result=said)
    summary = run.summary()
    if args.json:
        print_json({"summary": summary, "reports": [str(p) for p in reports]})
    else:
        megabytes = summary["bytes_read"] / 1e6
        print(f"Kiểm tra toàn vẹn: {summary['checked']}/{summary['archive_documents']} tài liệu, "
              f"{summary['passed']} đạt, {summary['failed']} không đạt ({decimal(megabytes)} MB, "
              f"{decimal(summary['seconds'])} giây).")
        for path in reports:
            print(f"Báo cáo: {path}", file=sys.stderr)
    return EXIT_OK if run.ok else EXIT_FAILED


def _print_verdict(result, metadata: dict, args) -> None:
    from pipeline import verify_report

    if args.json:
        print_json(verify_report.as_dict(result, metadata))
    elif not args.csv:  # the table is printed whole at the end
        print(verify_report.verdict_line(result, metadata))


def _with_fixity(result, fixity):
    """The signature verdict with what the fixity check of all the record's files found
    first; the PDF/A's own hash or read failure is then said once, by the fixity check."""
    if fixity.ok:
        return result
    said_by_fixity = ("mã SHA-256 của tệp khác với danh mục", "không đọc được tệp lưu trữ")
    kept = tuple(p for p in result.problems
                 if not (fixity.problem_of("pdfa") and p.startswith(said_by_fixity)))
    return dataclasses.replace(result, problems=fixity.problems + kept)


def cmd_verify(args) -> int:
    if not args.ids and not args.all:
        raise UserError("cho biết mã tài liệu cần kiểm tra (sohoa verify 12 15) hoặc --all")
    from pipeline import verify_report
    from core.archive import ArchiveStore
    from core.catalog import Catalog
    from pipeline.fixity import check_record
    from pipeline import archive_checks
    from signing.sign import load_trust_roots
    from signing.verify import VerifyPolicy

    home = open_home(args)
    config = home.config()
    report = report_folder(args.report, "báo cáo (--report)")
    online = args.online or config.verify.online
    policy = VerifyPolicy(tuple(load_trust_roots(config.verify.trust_roots)), online=online)
    started = archive_checks.now()
    results, missing, metadata = [], [], {}
    with Catalog(home.catalog_path) as catalog:
        archive = ArchiveStore(home.archive_dir)
        for document_id in sorted(catalog.document_ids()) if args.all else args.ids:
            row = catalog.get(document_id)
            if row is None:
                missing.append(document_id)
                say_error(f"không có tài liệu mã {document_id}")
                continue
            result = archive_checks.verify_record(
                row, archive.path(row.pdfa_file), policy, archive_checks.expects_signature(catalog, row.id)
            )
            result = _with_fixity(result, check_record(row, home.archive_dir))
            if row.withdrawn_at:  # fixity is still owed for a withdrawn record
                result = dataclasses.replace(result, name=f"{result.name} (đã rút khỏi kho)")
            results.append(result)
            metadata[row.id] = row.metadata
            _print_verdict(result, row.metadata, args)
        summary = archive_checks.summarise(results, started, online, tuple(map(str, config.verify.trust_roots)))
        archive_checks.record_run(catalog, results, summary)
    if args.csv:
        sys.stdout.write(verify_report.csv_text(results, metadata))
    elif args.json:
        print_json({"summary": {**summary.as_dict(), "missing": missing}})
    else:
        print(f"Đã kiểm tra {summary.checked} tài liệu: {summary.passed} đạt, {summary.failed} không đạt"
              + (f" ({summary.unsigned} chưa ký số)" if summary.unsigned else "")
              + (f"; {len(missing)} mã không có trong kho" if missing else "") + ".")
    if report:
        for path in verify_report.write_report(report, results, metadata, summary):
            print(f"Báo cáo: {path}", file=sys.stderr)
    return EXIT_FAILED if summary.failed or missing else EXIT_OK


def cmd_timestamp_renew(args) -> int:
    from core.archive import ArchiveStore
    from core.catalog import Catalog
    from pipeline import archive_checks
    from signing.errors import SigningError
    from signing.sign import load_trust_roots

    home = open_home(args)
    config = home.config()
    url = config.verify.timestamp_url
    if not url:
        raise UserError("chưa cấu hình dịch vụ dấu thời gian (timestamp_url trong [signing] hoặc [verify])")
    within = config.verify.renew_within_days if args.within_days is None else args.within_days
    roots = load_trust_roots(config.verify.trust_roots)
    counts = {"renewed": 0, "not-due": 0, "failed": 0}
    # The index is opened as by `sohoa set`: each renewal rewrites the entry in its unit of work.
    with Catalog(home.catalog_path) as catalog, open_search_index(home, config.index_engine, catalog) as index:
        archive = ArchiveStore(home.archive_dir)
        for document_id in archive_checks.renewal_candidates(catalog):
            row = catalog.get(document_id)
            try:
                outcome = archive_checks.renew_record(
                    catalog, row, archive.path(row.pdfa_file), archive.path(row.sidecar_file),
                    within_days=within, timestamp_url=url, trust_roots=roots, index=index,
                )
            except (SigningError, OSError) as error:
                reason = error.reason if isinstance(error, SigningError) else str(error)
                outcome = archive_checks.RenewalOutcome(row.id, "failed", None, reason)
            if outcome.status == "failed":
                archive_checks.record_renewal_failure(catalog, row.id, outcome.reason)
            counts[outcome.status] += 1
            if args.json:
                print_json({"id": outcome.id, "status": outcome.status, "expires": outcome.expires,
                            "reason": outcome.reason or None})
            elif outcome.status == "renewed":
                print(f"✓ [mã {row.id}] {row.original_name}: đã thêm dấu thời gian mới (cũ hết hạn {outcome.expires})")
            elif outcome.status == "failed":
                say_error(f"[mã {row.id}] {row.original_name}: {outcome.reason}")
    if args.json:
        print_json({"summary": {**counts, "within_days": within}})
    else:
        print(f"Gia hạn dấu thời gian: {counts['renewed']} tài liệu, {counts['not-due']} chưa đến hạn"
              f" (trong {within} ngày), {counts['failed']} lỗi.")
    return EXIT_FAILED if counts["failed"] else EXIT_OK
