"""argparse in Vietnamese: its messages go through gettext's `_()`, which is replaced here by a
table (no .mo file to install or compile), and a usage mistake is one line ending in where to
read the help.

argparse looks `_` and `ngettext` up in its module globals at each call, so replacing them
translates every message, including those of subparsers and mutually exclusive groups."""

from __future__ import annotations

import argparse

EXIT_USAGE = 2

# argparse's own strings (Python 3.11-3.13); %(value)r shows Python quotes, so values are in «».
MESSAGES = {
    "usage: ": "cách dùng: ",
    "positional arguments": "tham số",
    "options": "tùy chọn",
    "optional arguments": "tùy chọn",
    "show this help message and exit": "in hướng dẫn này rồi thoát",
    "argument %(argument_name)s: %(message)s": "tham số %(argument_name)s: %(message)s",
    "unrecognized arguments: %s": "không hiểu tham số: %s",
    "not allowed with argument %s": "không dùng cùng với %s",
    "ignored explicit argument %r": "tùy chọn này không nhận giá trị (bỏ «%s»)",
    "the following arguments are required: %s": "thiếu tham số bắt buộc: %s",
    "one of the arguments %s is required": "cần một trong các tham số: %s",
    "expected one argument": "cần một giá trị",
    "expected at most one argument": "cần nhiều nhất một giá trị",
    "expected at least one argument": "cần ít nhất một giá trị",
    "ambiguous option: %(option)s could match %(matches)s":
        "tùy chọn %(option)s không rõ: có thể là %(matches)s",
    "unexpected option string: %s": "tùy chọn không đúng chỗ: %s",
    "invalid %(type)s value: %(value)r": "giá trị không hợp lệ: «%(value)s»",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "«%(value)s» không có; chọn một trong: %(choices)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: lỗi: %(message)s\n",
    "can't open '%(filename)s': %(error)s": "không mở được «%(filename)s»: %(error)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "không có lệnh «%(parser_name)s» (chọn một trong: %(choices)s)",
}
PLURALS = {
    "expected %s argument": "cần %s giá trị",
    "expected %s arguments": "cần %s giá trị",
}


def translate(message: str) -> str:
    return MESSAGES.get(message, message)


def ntranslate(singular: str, plural: str, n: int) -> str:
    chosen = singular if n == 1 else plural
    return PLURALS.get(chosen, chosen)


def install() -> None:
    argparse._ = translate  # type: ignore[attr-defined]
    argparse.ngettext = ntranslate  # type: ignore[attr-defined]


class Parser(argparse.ArgumentParser):
    """A usage mistake in one line, like every other refusal (subcommands inherit it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("add_help", True)
        add_help = kwargs.pop("add_help")
        super().__init__(*args, add_help=False, **kwargs)
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="in hướng dẫn này rồi thoát")

    def _check_value(self, action, value):
        # argparse names the choices with Python's quotes ('init', 'ingest'): plain words here.
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(
                action, f"«{value}» không có; chọn một trong: {', '.join(map(str, action.choices))}")

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"sohoa: lỗi: {message} (xem `{self.prog} --help`)\n")

    def parse_args(self, args=None, namespace=None):
        # argparse says an unknown option from the top parser (`sohoa --help`): point at the
        # help of the command it was given to instead (`sohoa status --help`).
        known, extras = self.parse_known_args(args, namespace)
        if extras:
            words = [getattr(known, name, None) for name in ("command", "agency_command", "timestamp_command")]
            where = " ".join([self.prog, *(word for word in words if word)])
            self.exit(EXIT_USAGE, f"sohoa: lỗi: {translate('unrecognized arguments: %s') % ' '.join(extras)} "
                                  f"(xem `{where} --help`)\n")
        return known


def positive(text: str) -> int:
    """argparse type: a whole number from 1 up (a batch of 0 documents once emptied the live
    index; a limit of 0 asks for nothing)."""
    value = whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"phải là số nguyên từ 1 trở lên, không phải {value}")
    return value


def whole(text: str) -> int:
    """argparse type: a whole number, said in Vietnamese when it is not one."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» không phải là số nguyên") from None


def document_id(text: str) -> int:
    """argparse type: a document id (the `mã` that ingest, search and show print)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"«{text}» không phải mã tài liệu (mã là số nguyên, như `sohoa search` in ra: [mã 12])") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"mã tài liệu là số từ 1 trở lên, không phải {value}")
    return value
