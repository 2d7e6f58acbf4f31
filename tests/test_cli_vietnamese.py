"""The `sohoa` command as a new clerk meets it (issue 14, point 5): Vietnamese everywhere,
--json on every command, true counts, unknown values refused with the valid ones, a reader
that stops early ends it quietly, no library warning on the console, and a quick start that
does not load the pipeline. Every check runs the installed command in a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from commands.main import build_parser
from tests.conftest import SOHOA, json_lines, run_sohoa
from tests.fixtures.search_corpus import collection
from tests.test_search_cli_filters import catalogue
from tests.test_watch_support import tiny_scan

ENGLISH = ("usage:", "show this help", "invalid int", "invalid choice", "value:", "error:", "options:",
           "positional arguments", "argument ", "expected", "required", "unrecognized", "choose from")


def _leaf_parsers(parser, path=()):
    """(command words, parser) of every command that runs something."""
    subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _leaf_parsers(sub, (*path, name))


COMMANDS = [words for words, _ in _leaf_parsers(build_parser())]


INGESTED: dict[str, int] = {}  # the id of the real scan in `home`


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "SOHOA_HOME"}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A home whose catalog holds 40 generated records (as in test_search_cli_filters), indexed,
    then one real scan ingested : commands that rewrite a record need its files."""
    root = tmp_path_factory.mktemp("cli-vi") / "sohoa-data"
    done = run_sohoa(root, "init", "--json")
    assert done.returncode == 0, done.stderr
    catalogue(root, collection(40))
    assert run_sohoa(root, "reindex").returncode == 0
    scan = tiny_scan(root.parent / "giay-moi.jpg")
    ingested = run_sohoa(root, "ingest", str(scan), "--json")
    assert ingested.returncode == 0, ingested.stderr
    INGESTED["id"] = json_lines(ingested.stdout)[0]["id"]
    return root


# -- Vietnamese help and usage mistakes ----------------------------------------------------------


@pytest.mark.parametrize("words", [(), *COMMANDS, ("agency",), ("timestamp",)], ids=lambda w: " ".join(w) or "sohoa")
def test_help_is_vietnamese_and_every_option_is_explained(words):
    done = subprocess.run([str(SOHOA), *words, "--help"], capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cách dùng: sohoa"), done.stdout
    for english in ENGLISH:
        assert english not in done.stdout, (english, done.stdout)
    assert "in hướng dẫn này rồi thoát" in done.stdout
    # every option and argument line carries its explanation: no bare "--json" or "MÃ"
    body = done.stdout.split("\n\n", 1)[1]
    lines = body.splitlines()
    for number, line in enumerate(lines):
        entry = re.match(r"^  (-[-\w]+|[A-ZÀ-Ỹ_]+)(, --[\w-]+)?( [A-ZÀ-Ỹ_.\[\]]+)?$", line)
        if entry and line.strip() != "LỆNH":
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert following.startswith(" " * 10) and following.strip(), f"{' '.join(words)}: {line!r} has no help"


@pytest.mark.parametrize("arguments, said", [
    (["show", "abc"], "«abc» không phải mã tài liệu"),
    (["show"], "thiếu tham số bắt buộc: MÃ"),
    (["search", "x", "--limit", "x"], "«x» không phải là số nguyên"),
    (["search", "x", "--limit", "0"], "từ 1 trở lên"),
    (["search", "x", "--sort", "size"], "«size» không có; chọn một trong: relevance, date"),
    (["frob"], "«frob» không có; chọn một trong: init, ingest"),
    (["search", "--frob"], "không hiểu tham số: --frob"),
    (["verify", "--json", "--csv"], "không dùng cùng với --json"),
    (["timestamp", "renew", "--within-days", "mười"], "«mười» không phải là số nguyên"),
])
def test_usage_mistakes_are_one_vietnamese_line(tmp_path, arguments, said):
    done = subprocess.run([str(SOHOA), "--home", str(tmp_path), *arguments], capture_output=True, text=True,
                          env=_env())
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sohoa: lỗi: "), done.stderr
    assert said in lines[0] and "(xem `sohoa" in lines[0], lines[0]
    for english in ENGLISH:
        assert english not in lines[0], (english, lines[0])
    assert "'" not in lines[0], "Python's quotes around a value"


# -- --json everywhere ---------------------------------------------------------------------------


def test_every_command_offers_json():
    # 15 commands, agency set, timestamp renew, user add|list|set|password, token add|list|revoke
    assert len(COMMANDS) == 24
    for words, parser in _leaf_parsers(build_parser()):
        options = {o for action in parser._actions for o in action.option_strings}
        assert "--json" in options, words


def test_json_output_of_every_command_parses(home):
    doc_id = INGESTED["id"]
    runs = {
        "init": ["init", "--json"],
        "show": ["show", str(doc_id), "--json"],
        "review": ["review", "--json"],
        "search": ["search", "kho", "--json"],
        "reindex": ["reindex", "--json"],
        "check": ["check", "--json"],
        "status": ["status", "--json"],
        "audit": ["audit", "--json"],
        "agency set": ["agency", "set", "--code", "H09.01", "--json"],
        "set": ["set", str(doc_id), "number=15/QĐ-SNV", "--by", "kiểm thử", "--json"],
        "withdraw": ["withdraw", str(doc_id), "--reason", "bản trùng", "--json"],
        "withdraw again": ["withdraw", str(doc_id), "--reason", "bản trùng", "--json"],
        "reinstate": ["reinstate", str(doc_id), "--reason", "nhầm", "--json"],
    }
    outputs = {}
    for name, arguments in runs.items():
        done = run_sohoa(home, *arguments)
        # audit: the generated records have no files, so it fails them (and says so in JSON)
        assert done.returncode == (1 if name == "audit" else 0), (name, done.stderr)
        assert done.stdout.strip() or name == "review", (name, done.stderr)  # review: one line per document to see
        outputs[name] = json_lines(done.stdout)
        assert "None" not in done.stdout, (name, done.stdout)
    assert outputs["init"][0]["created"] is False and outputs["init"][0]["home"] == str(home)
    assert outputs["set"][0]["changes"][0]["new"] == "15/QĐ-SNV"
    assert outputs["withdraw"][0]["status"] == "withdrawn"
    assert outputs["withdraw again"][0]["status"] == "already-withdrawn"
    assert outputs["reinstate"][0]["status"] == "reinstated"
    assert outputs["reindex"][0]["indexed"] == len(collection(40)) + 1
    assert outputs["agency set"][0]["agency_code"] == "H09.01"
    assert outputs["check"][0]["ok"] is True


def test_set_shows_an_empty_field_in_words_not_none(home):
    from header.fields import FIELD_NAMES, LIST_FIELDS

    metadata = json.loads(run_sohoa(home, "show", str(INGESTED["id"]), "--json").stdout)["metadata"]
    empty = next(name for name in FIELD_NAMES if not metadata.get(name) and name not in LIST_FIELDS)
    done = run_sohoa(home, "set", str(INGESTED["id"]), f"{empty}=Nguyễn Văn A", "--by", "kiểm thử")
    assert done.returncode == 0, done.stderr
    assert "(trống) → «Nguyễn Văn A»" in done.stdout and "None" not in done.stdout, done.stdout


# -- search: true counts, unknown values refused ----------------------------------------------


def test_search_says_the_true_total_beside_what_it_shows(home):
    everything = json.loads(run_sohoa(home, "search", "kế hoạch", "--json", "--limit", "100").stdout)
    assert everything["total"] == everything["count"] >= 4
    one = json.loads(run_sohoa(home, "search", "kế hoạch", "--json", "--limit", "1").stdout)
    assert one["count"] == 1 and one["total"] == everything["total"]
    plain = run_sohoa(home, "search", "kế hoạch", "--limit", "1")
    assert f"Tìm thấy {everything['total']} tài liệu cho «kế hoạch», hiện 1" in plain.stdout
    # filters only, newest first
    filtered = json.loads(run_sohoa(home, "search", "--profile", "van-ban-di", "--json", "--limit", "2").stdout)
    listed = json.loads(run_sohoa(home, "search", "--profile", "van-ban-di", "--json", "--limit", "100").stdout)
    assert filtered["total"] == listed["count"] > 2


@pytest.mark.parametrize("engine", ["tantivy", "whoosh"])
def test_total_counts_the_ocr_tolerant_matches_too(tmp_path, engine):
    root = tmp_path / "sohoa-data"
    assert run_sohoa(root, "init").returncode == 0
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('engine = "tantivy"', f'engine = "{engine}"'),
                      encoding="utf-8")
    catalogue(root, collection(40))
    assert run_sohoa(root, "reindex").returncode == 0
    counted = []
    for query in ("kho", "van ban", "Phú Tài", "kế hoạch", "Thong bao", "tinh"):
        everything = json.loads(run_sohoa(root, "search", query, "--json", "--limit", "100").stdout)
        some = json.loads(run_sohoa(root, "search", query, "--json", "--limit", "2").stdout)
        assert some["total"] == everything["count"], (engine, query)
        counted.append(everything["count"])
    assert max(counted) > 2, counted  # the limit of 2 cut something


@pytest.mark.parametrize("arguments, valid", [
    (["--type", "giấy khen"], ["Quyết định (QĐ)", "Công văn", "Kế hoạch (KH)"]),
    (["--profile", "van-ban-den-cu"], ["van-ban-den", "van-ban-di", "luu-tru"]),
    (["--signature", "ok"], ["signed (đã ký)", "unsigned", "invalid"]),
])
def test_unknown_filter_values_are_refused_with_the_valid_ones(home, arguments, valid):
    done = run_sohoa(home, "search", "kho", *arguments)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("sohoa: lỗi: ") and "chọn một trong" in done.stderr
    for value in valid:
        assert value in done.stderr, done.stderr


def test_known_filter_values_in_any_spelling_are_accepted(home):
    for arguments in (["--type", "qd"], ["--type", "quyet dinh"], ["--profile", "VAN-BAN-DI"], ["--signature", "Signed"]):
        done = run_sohoa(home, "search", "", *arguments, "--json")
        assert done.returncode == 0, (arguments, done.stderr)


def test_a_reversed_date_range_is_refused(home):
    done = run_sohoa(home, "search", "", "--from", "31/12/2024", "--to", "1/1/2024")
    assert done.returncode == 1 and "khoảng ngày ngược" in done.stderr, done.stderr


# -- pipes, warnings, start-up -----------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [["--help"], ["search", "kho", "--limit", "50"], ["status"], ["search", "--help"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(home, arguments):
    read, write = os.pipe()
    os.close(read)  # the reader has gone (as `| head -1` after its line) before sohoa writes
    try:
        done = subprocess.run([str(SOHOA), "--home", str(home), *arguments], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=_env(), timeout=120)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stderr == ""
    # 141 as a process ended by SIGPIPE; argparse's help (printed, then exit 0) drops the write itself
    assert done.returncode == (0 if "--help" in arguments else 141)


def test_piped_to_head_prints_one_line_and_no_traceback(home):
    shell = subprocess.run(
        f"set -o pipefail; '{SOHOA}' --home '{home}' search kho --limit 100 | head -1",
        shell=True, capture_output=True, text=True, env=_env(), executable="/bin/bash", timeout=120)
    assert shell.stdout.startswith("Tìm thấy") and len(shell.stdout.splitlines()) == 1
    assert "Traceback" not in shell.stderr and shell.stderr == "", shell.stderr
    assert shell.returncode in (0, 141)


PROBE = """
import sys, warnings
import pikepdf
from commands import main
def noisy(args):
    warnings.warn("This document has 1 form widget annotation(s) ...", pikepdf.PageCopyWarning)
    print("xong")
    return 0
main._handler = lambda name: noisy
sys.exit(main.main(sys.argv[1:]))
"""


def test_library_warnings_go_to_the_log_file_not_the_console(home):
    done = subprocess.run([sys.executable, "-c", PROBE, "--home", str(home), "status"], capture_output=True,
                          text=True, env={**_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0 and done.stdout == "xong\n", done.stderr
    assert "Warning" not in done.stderr and done.stderr == ""
    assert "PageCopyWarning" in (home / "logs" / "sohoa.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("arguments", [["--version"], ["--help"], ["search", "--help"], ["show", "abc"]])
def test_start_up_loads_no_pipeline(arguments):
    done = subprocess.run([sys.executable, "-X", "importtime", str(SOHOA), *arguments], capture_output=True,
                          text=True, env=_env())
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "argparse" in loaded, done.stderr[-500:]
    heavy = {name for name in loaded
             if name.split(".")[0] in {"django", "pikepdf", "tantivy", "whoosh", "PIL", "pyhanko", "cv2", "numpy",
                                       "index", "ocr", "signing", "watch_folders"}
             or (name.startswith("pipeline.") and name != "pipeline")}
    assert not heavy, sorted(heavy)


def test_constants_copied_to_keep_start_up_light_match_their_sources():
    # The index is a leaf that loads its engines: the parser keeps copies. (The umask and the
    # home's resolution come from core.home itself, which loads only the standard library.)
    from commands import main
    from index import Sort
    from index.rebuild import DEFAULT_BATCH

    assert main.SORTS == tuple(s.value for s in Sort)
    assert main.DEFAULT_BATCH == DEFAULT_BATCH


WORKER_PROBE = """
import sys, warnings
import pikepdf
from watch_folders import workers
workers._become_child(sys.argv[1])  # as a spawned worker of `sohoa watch` starts
warnings.warn("This document has 1 form widget annotation(s) ...", pikepdf.PageCopyWarning)
"""


def test_a_watch_workers_library_warnings_go_to_the_log_file(tmp_path):
    log = tmp_path / "sohoa.log"
    done = subprocess.run([sys.executable, "-c", WORKER_PROBE, str(log)], capture_output=True, text=True,
                          env={**_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "PageCopyWarning" in log.read_text(encoding="utf-8")
