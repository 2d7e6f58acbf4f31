"""`sohoa watch` and `sohoa status`: the watch-folder service."""

from __future__ import annotations

import json
import logging
import sys

from commands.common import EXIT_OK, UserError, open_home, print_json

log = logging.getLogger("sohoa")


def _json_events(event_log_class):
    """The service's events as JSON lines (`watch --json`), for a supervisor that reads them."""

    class JsonEvents(event_log_class):
        def __call__(self, event: str, say: str | None = None, *, level: int = logging.INFO, **fields) -> None:
            super().__call__(event, None, level=level, **fields)  # the log file line, as always
            if say and self.console is not None:
                with self._lock:
                    print(json.dumps({"event": event, "message": say, **fields}, ensure_ascii=False, default=str),
                          file=self.console, flush=True)

    return JsonEvents


def cmd_watch(args) -> int:
    from watch_folders.eventlog import EventLog
    from watch_folders.service import ServiceAlreadyRunning, run_service
    from watch_folders.settings import load_watch_settings
    from watch_folders.status import free_space
    from watch_folders.transient import is_disk_full

    home = open_home(args)
    home.config()  # a mistake in config.toml is reported before anything starts
    settings = load_watch_settings(home.config_path)
    # The service says each event in a plain sentence; its log lines go to the log file only.
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.addFilter(lambda record: not record.name.startswith("sohoa.watch"))
    try:
        return run_service(home, settings, events=(_json_events(EventLog) if args.json else EventLog)(sys.stdout),
                           log_file=str(home.root / "logs" / "sohoa.log"))
    except ServiceAlreadyRunning as error:
        raise UserError(str(error)) from None
    except Exception as error:
        if not is_disk_full(error):
            raise
        # At start (the lock file, the catalog) nothing can wait for space: say so in one
        # line; jobs met by a full disk once running wait for it instead.
        log.warning("watch could not run: disk full", exc_info=True)
        raise UserError(f"đĩa của kho {home.root} đầy (còn {free_space(home.root)}), dịch vụ theo dõi thư mục "
                        "không chạy được; hãy giải phóng dung lượng đĩa rồi chạy lại") from None


def cmd_status(args) -> int:
    from pipeline import audit
    from core.names import shown
    from watch_folders.service import running_service_pid
    from watch_folders.settings import load_watch_settings
    from watch_folders.status import catalog_for_status, describe, status_report
    from watch_folders.stuck import describe_stuck, overdue_after, stuck_in_inbox

    home = open_home(args)
    with catalog_for_status(home.catalog_path) as catalog:  # readable on a full disk too
        report = status_report(catalog, running_service_pid(home.root), home.root)
        stuck = stuck_in_inbox(home.inbox_dir, catalog, overdue_after(load_watch_settings(home.config_path)))
        audited = audit.last_run(catalog)
    if args.json:
        print_json({**report.as_json(), "stuck_in_inbox": [item.as_json() for item in stuck],
                    "last_audit": audited})
    else:
        lines = [*describe(report), *describe_stuck(stuck, running=report.running_pid is not None),
                 _last_audit_line(audited)]
        print("\n".join(shown(line) for line in lines))
    return EXIT_OK


def _last_audit_line(audited: dict | None) -> str:
    if audited is None:
        return "Kiểm tra toàn vẹn (sohoa audit): chưa chạy lần nào"
    verdict = "đạt" if audited["outcome"] == "pass" else f"KHÔNG ĐẠT ({audited.get('failed', '?')} tài liệu)"
    return (f"Kiểm tra toàn vẹn lần cuối: {audited['at']}, {audited.get('checked', 0)} tài liệu, {verdict}"
            + (f"; báo cáo {audited['reports'][1]}" if len(audited.get("reports") or []) > 1 else ""))
