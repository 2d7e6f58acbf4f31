"""The one clock: Vietnam's time, as every timestamp sohoa writes is read by people there.

UTC+7 all year (Asia/Ho_Chi_Minh has kept no daylight saving since 1975), as a fixed offset
so that no time zone database is needed and every stored time reads "+07:00".
"""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7))


def now() -> dt.datetime:
    """This moment in Vietnam's time, to the microsecond."""
    return dt.datetime.now(VIETNAM)


def now_text() -> str:
    """This moment as the audit trail writes it: ISO 8601 to the second, "+07:00"."""
    return now().isoformat(timespec="seconds")


def in_vietnam(moment: dt.datetime) -> str:
    """An aware moment as Vietnam's time, ISO 8601 to the second."""
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds")
