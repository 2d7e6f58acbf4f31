"""Dates as staff type them in a search: a day, a month or a year, Vietnamese or ISO order."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from core.errors import SohoaError

_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_VIETNAMESE = re.compile(r"(?:(\d{1,2})[/.-])?(\d{1,2})[/.-](\d{4})")  # [dd/]mm/yyyy


class DateInputError(SohoaError, ValueError):
    """A date a user typed that is not one; the message is for the user (Vietnamese)."""

    code = "date-invalid"


def parse_day(text: str, *, end: bool = False) -> dt.date:
    """The day meant by `text`: "2024-03-02", "02/03/2024", "2/3/2024", "03/2024",
    "2024-03" or "2024". A month or a year stands for its first day, or its last day when
    `end` (so `--to 2024` includes 31/12/2024)."""
    value = text.strip()
    if match := _ISO.fullmatch(value):
        year, month, day = match.groups()
    elif match := _VIETNAMESE.fullmatch(value):
        day, month, year = match.groups()
    else:
        raise DateInputError(
            f"ngày không hợp lệ «{text}»: hãy viết dạng 31/12/2024, 12/2024, 2024 hoặc 2024-12-31"
        )
    year_number = int(year)
    if month is None:
        return dt.date(year_number, 12, 31) if end else dt.date(year_number, 1, 1)
    try:
        month_number = int(month)
        if day is None:
            last = calendar.monthrange(year_number, month_number)[1]
            return dt.date(year_number, month_number, last if end else 1)
        return dt.date(year_number, month_number, int(day))
    except (ValueError, calendar.IllegalMonthError) as error:
        raise DateInputError(f"ngày không hợp lệ «{text}»: không có ngày, tháng này") from error
