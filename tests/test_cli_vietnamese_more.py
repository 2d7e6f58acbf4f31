"""Issue 14, point 5, the rest: what a clerk reads from the real `sohoa` command is Vietnamese —
the audit trail's steps, an empty review in JSON, a report folder that cannot be written, a bug —
on a home holding one real scanner PDF."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.events import OUTCOME_LABELS, Step, outcome_label, step_label
from tests.conftest import json_lines, run_sohoa

ROOT = Path(__file__).resolve().parents[1]
REAL_SCANS = ROOT.parent / "shared" / "realscans"
# English a clerk must not meet in a trail line (the step codes as they were printed before)
STEP_CODES = {str(step) for step in Step}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> tuple[Path, int]:
    scans = sorted(REAL_SCANS.glob("*.pdf"), key=lambda p: p.stat().st_size)
    if not scans:
        pytest.skip(f"no real scans in {REAL_SCANS}")
    root = tmp_path_factory.mktemp("cli-vi-more") / "sohoa-data"
    assert run_sohoa(root, "init").returncode == 0
    done = run_sohoa(root, "ingest", str(scans[0]), "--json")
    assert done.returncode == 0, done.stderr
    (document,) = json_lines(done.stdout)
    return root, document["id"]


def test_every_step_and_outcome_has_a_vietnamese_label():
    labels = [step.label for step in Step]
    assert len(set(labels)) == len(labels)  # two steps never read alike
    for step in Step:
        assert step.label != str(step) and step_label(str(step)) == step.label, step
    assert outcome_label("ok") == "xong" and outcome_label("fail") == "không đạt"
    assert outcome_label("ok", "verified") == "đạt" and outcome_label("failed", "verified") == "không đạt"
    assert all(label not in OUTCOME_LABELS for label in OUTCOME_LABELS.values())
    assert step_label("a-newer-step") == "a-newer-step"  # shown as it is rather than hidden


def test_show_prints_the_trail_in_vietnamese(home):
    root, doc_id = home
    done = run_sohoa(root, "show", str(doc_id))
    assert done.returncode == 0, done.stderr
    trail = done.stdout.split("Nhật ký xử lý:")[1].strip().splitlines()
    assert len(trail) >= 6, done.stdout
    said = "\n".join(trail)
    for expected in ("nhận tệp", "nhận dạng chữ (OCR)", "tạo bản PDF/A", "ký số", "lưu vào kho",
                     "vào chỉ mục tìm kiếm", "xong"):
        assert expected in said, (expected, said)
    for line in trail:
        words = set(line.split())
        assert not words & (STEP_CODES | {"ok", "failed", "skipped"}), line


def test_show_json_keeps_the_codes_and_adds_the_labels(home):
    root, doc_id = home
    events = json.loads(run_sohoa(root, "show", str(doc_id), "--json").stdout)["events"]
    received = events[0]
    assert received["step"] == "received" and received["step_label"] == "nhận tệp"
    assert received["outcome"] == "ok" and received["outcome_label"] == "xong"
    assert all(Step(e["step"]).label == e["step_label"] for e in events)


def test_review_json_says_an_empty_review(tmp_path):
    root = tmp_path / "sohoa-data"
    assert run_sohoa(root, "init").returncode == 0
    done = run_sohoa(root, "review", "--json")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout) == [{"summary": {"documents": 0, "fields": 0, "flagged": 0}}]


def test_review_json_ends_with_true_counts(home):
    root, doc_id = home
    lines = json_lines(run_sohoa(root, "review", "--json").stdout)
    *documents, last = lines
    summary = last["summary"]
    assert summary["documents"] == len(documents)
    assert summary["fields"] == sum(len(d.get("fields", [])) for d in documents)
    assert summary["flagged"] == sum("needs_review" in d for d in documents)


@pytest.mark.parametrize("arguments", [["verify", "--all", "--report"], ["audit", "--out"]])
def test_a_report_folder_in_the_way_is_one_line_before_any_work(home, tmp_path, arguments):
    root, _ = home
    in_the_way = tmp_path / "bao-cao"
    in_the_way.write_text("một tệp, không phải thư mục")
    done = run_sohoa(root, *arguments, str(in_the_way))
    assert done.returncode == 1 and done.stdout == "", (done.stdout, done.stderr)
    (line,) = done.stderr.splitlines()
    assert line.startswith("sohoa: lỗi: ") and "là một tệp, không phải thư mục" in line, line
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr
    assert in_the_way.read_text() == "một tệp, không phải thư mục"


def test_audit_writes_its_measures_with_a_decimal_comma(home):
    root, _ = home
    done = run_sohoa(root, "audit")
    assert done.returncode == 0, done.stderr
    assert " MB, " in done.stdout and "," in done.stdout.split("(")[1].split(" MB")[0], done.stdout
    assert "." not in done.stdout.split("(")[1].split(")")[0], done.stdout


PLANTED_BUG = """
import sys
import commands.archive

def broken(args):
    raise KeyError("planted")

commands.archive.cmd_show = broken
from commands.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_bug_is_one_line_naming_the_log_and_v_gives_the_traceback(home):
    root, doc_id = home

    def run(*extra):
        return subprocess.run([sys.executable, "-c", PLANTED_BUG, "--home", str(root), *extra, "show", str(doc_id)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    done = run()
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("sohoa: lỗi: lỗi không mong đợi") and str(root / "logs" / "sohoa.log") in line, line
    assert "Traceback" in (root / "logs" / "sohoa.log").read_text(encoding="utf-8")
    verbose = run("-v")
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr and "planted" in verbose.stderr


def test_status_names_a_stuck_jobs_state_in_vietnamese():
    from watch_folders.stuck import StuckFile, describe_stuck

    lines = describe_stuck([StuckFile("van-ban-den/a.pdf", 7200, 12, "failed")], running=True)
    assert "công việc số 12 đã xong (lỗi)" in lines[1] and "failed" not in lines[1], lines


def test_set_shows_a_list_as_typed_not_as_python(home):
    root, doc_id = home
    first = run_sohoa(root, "set", str(doc_id), "keywords=lưu trữ|số hóa", "--by", "kiểm thử")
    assert first.returncode == 0, first.stderr
    assert "→ «lưu trữ | số hóa»" in first.stdout and "['" not in first.stdout, first.stdout
    cleared = run_sohoa(root, "set", str(doc_id), "keywords=", "--by", "kiểm thử")
    assert "«lưu trữ | số hóa» → (trống)" in cleared.stdout, cleared.stdout


def test_an_unknown_code_is_refused_by_the_fields_name_with_the_valid_ones(home):
    root, doc_id = home
    done = run_sohoa(root, "set", str(doc_id), "retention=99")
    assert done.returncode == 1
    assert "không hợp lệ cho Thời hạn bảo quản (retention): dùng 01 (Vĩnh viễn)" in done.stderr, done.stderr


def test_show_says_which_field_a_correction_changed_and_a_checks_verdict(home):
    root, doc_id = home
    assert run_sohoa(root, "set", str(doc_id), "place=Thành phố Vị Thanh", "--by", "Nguyễn Văn A").returncode == 0
    assert run_sohoa(root, "verify", str(doc_id)).returncode == 0
    trail = run_sohoa(root, "show", str(doc_id)).stdout.split("Nhật ký xử lý:")[1]
    assert "sửa trường" in trail and "(Địa danh, Nguyễn Văn A)" in trail, trail
    (verified,) = [line for line in trail.splitlines() if "kiểm tra chữ ký số" in line]
    assert verified.rstrip().endswith("đạt"), verified


@pytest.mark.parametrize("arguments, where", [
    (["status", "--bogus"], "sohoa status --help"),
    (["show", "1", "2"], "sohoa show --help"),
    (["timestamp", "renew", "--x"], "sohoa timestamp renew --help"),
])
def test_an_unknown_option_points_at_its_commands_help(home, arguments, where):
    root, _ = home
    done = run_sohoa(root, *arguments)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("sohoa: lỗi: không hiểu tham số: ") and line.endswith(f"(xem `{where}`)"), line


@pytest.mark.parametrize("damage, said", [
    ("\n[[[\n", "cấu hình sai cú pháp TOML ở dòng "),
    ('\n[index]\nengine = "lucene"\n', "bộ máy tìm kiếm không hợp lệ «lucene»"),
])
def test_a_broken_config_is_said_in_vietnamese(tmp_path, damage, said):
    root = tmp_path / "sohoa-data"
    assert run_sohoa(root, "init").returncode == 0
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    if "engine" in damage:  # the setting replaced, not given twice (a TOML error of its own)
        text = text.replace('engine = "tantivy"', 'engine = "lucene"')
        damage = ""
    config.write_text(text + damage, encoding="utf-8")
    done = run_sohoa(root, "search", "kho")
    assert done.returncode != 0
    (line,) = done.stderr.splitlines()
    assert said in line, line
    assert "'" not in line and "Invalid" not in line and " at line " not in line, line
