"""What the office reads on the terminal: names as they are (brackets too), every issue with
its fix, changes by project name and caption, and a long run summed up with the list in a
file."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from perfxl.cli import app
from tests.test_collect import INBOX, ROSTER, _distinct_inbox

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_file_names_keep_their_brackets_in_every_table(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    name = "440100003-广州市老人院[final].xlsx"
    shutil.copy(INBOX / "440100003-广州市老人院-第1次.xlsx", inbox / name)
    code, output = run("validate", str(inbox / name))
    assert code == 1 and "[final]" in output
    code, output = run("collect", str(inbox), "--ledger", str(tmp_path / "l.db"))
    assert "[final]" in output
    code, output = run("status", "--ledger", str(tmp_path / "l.db"))
    assert "[final]" in output


def test_every_issue_on_the_terminal_has_its_fix() -> None:
    code, output = run("validate", str(INBOX / "440100003-广州市老人院-第1次.xlsx"))
    assert code == 1
    assert "修改建议" in output
    # The hint of the rule the file breaks, in the table beside its message.
    assert "请" in output.split("修改建议", 1)[1]


def test_changes_are_said_by_project_name_and_field_caption(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(INBOX, inbox)
    for n, path in enumerate(sorted(inbox.iterdir())):
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
    _, output = run("collect", str(inbox), "--roster", str(ROSTER), "--ledger",
                    str(tmp_path / "l.db"), "--year", "2026")  # fmt: skip
    flat = "".join(output.split())
    assert "（编码4401000032026001）：总计：187.38→40.00；财政拨款：187.38→40.00" in flat, output
    assert "：（空）→≥7个" in flat
    assert "total:" not in output and "fiscal" not in output


def test_a_long_run_is_summed_up_and_every_file_listed_in_a_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _distinct_inbox(inbox, 55)
    shutil.copy(INBOX / "440100003-广州市老人院-第1次.xlsx", inbox / "zz-rejected.xlsx")
    ledger = tmp_path / "ledger.db"
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert code == 1
    assert "收集了 56 个文件，其中已退回 1 个" in output
    assert "zz-rejected.xlsx" in output and "D000.xlsx" not in output  # only what went wrong
    [listing] = tmp_path.glob("ledger-收集-*.csv")
    assert listing.read_bytes().startswith(b"\xef\xbb\xbf")  # a byte order mark, for Excel
    with listing.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 56
    assert {r["结果"] for r in rows} == {"已接收", "已退回"}
    assert str(listing.name) in "".join(output.split())


def test_export_keeps_the_declared_total_and_says_the_difference(tmp_path: Path) -> None:
    """The seed declares 合计 7,895.82 where its projects add up to 7,895.80: the published
    copy says 7,895.82 as the source did, and the difference is reported."""
    seed = (
        Path(__file__).parent / "fixtures" / "guangzhou-minzheng-project-targets.libreoffice.xlsx"
    )
    out = tmp_path / "published.xlsx"
    code, output = run("export", str(seed), "--published", "-o", str(out))
    assert code == 0 and "declared-total-rounding" in output
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    [total] = [r for r in rows if r[0] == "合计"]
    assert total[1:3] == [7895.82, 7895.82]


def test_the_roster_given_to_collect_is_remembered_and_rows_go_by_code(tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    run("collect", str(INBOX), "--roster", str(ROSTER), "--ledger", str(ledger), "--year", "2026")
    code, output = run("status", "--ledger", str(ledger), "--json")
    data = json.loads(output)
    assert data["roster"] is True
    codes = [d["code"] for d in data["departments"]]
    assert codes == sorted(codes) and "440100005" in codes  # the one that sent nothing
    assert {d["code"]: d["status"] for d in data["departments"]}["440100005"] == "missing"
    code, output = run("status", "--ledger", str(ledger))
    assert "未提交 1" in output and code == 1


def test_without_a_roster_who_is_missing_is_not_claimed(tmp_path: Path) -> None:
    ledger = tmp_path / "l.db"
    run("collect", str(INBOX), "--ledger", str(ledger), "--year", "2026")
    _, output = run("status", "--ledger", str(ledger))
    assert "未提交 不详" in output and "没有单位名单" in output
    assert "未提交 0" not in output
    out = tmp_path / "ledger.xlsx"
    assert run("ledger", "--ledger", str(ledger), "-o", str(out))[0] == 0
    summary = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("汇总").to_python()
    labelled = {row[0]: row[1] for row in summary if row[0]}
    assert labelled["未提交"] == "不详（没有单位名单）"


def test_a_clean_files_annotated_copy_says_no_issue_was_found(tmp_path: Path) -> None:
    import openpyxl

    clean = INBOX / "440100002-广州市社会福利院.xlsx"
    code, _ = run("validate", str(clean), "--annotate", str(tmp_path))
    assert code == 0
    sheet = openpyxl.load_workbook(tmp_path / clean.name).worksheets[0]
    assert sheet.title == "校验结果"
    assert "未发现问题" in str(sheet["F2"].value)


def test_help_speaks_chinese_and_names_kinds_not_python_types() -> None:
    for command in ("collect", "template", "import", "validate", "ledger", "status"):
        _, output = run(command, "--help")
        assert "显示本帮助并退出" in output and "Show this message" not in output
        assert "<bool>" not in output and "list[Path]" not in output and "<int>" not in output
        assert "选项" in output
    _, output = run("template", "--help")
    assert "[默认：(明年)]" in "".join(output.split()) and "[default: 0]" not in output


def test_mistakes_on_the_command_line_are_said_in_chinese(tmp_path: Path) -> None:
    """Each mistake gets its own Chinese sentence, exit 2 and the Chinese usage line; none of
    the English click or pydantic would have said is left."""
    ledger = str(tmp_path / "l.db")
    cases = {
        ("validate",): "缺少参数“文件”",
        ("collect", "inbox", "--jobs", "x"): "“--jobs”的值不对：应为整数",
        ("template", "--year", "明年"): "“--year”的值不对：应为整数",
        ("valdate",): "没有命令“valdate”，是否想用 “validate”？",
        ("validate", "--fromat", "json", "a.xlsx"): "没有选项“--fromat”，是否想用 “--format”？",
        ("status", "--ledger"): "选项“--ledger”后面需要一个值",
        ("status", "--ledger", ledger, "多余"): "多余的参数：多余",
    }
    english = ("Missing", "Invalid", "No such", "Usage", "Did you mean", "Input should",
               "requires", "Got unexpected", "Possible")  # fmt: skip
    for args, said in cases.items():
        code, output = run(*args)
        flat = "".join(output.split())
        assert code == 2, (args, output)
        assert "".join(said.split()) in flat, (args, output)
        assert "用法：perfxl" in flat, (args, output)
        assert not [word for word in english if word in output], (args, output)


def test_import_knows_our_own_template_and_reads_a_folder(tmp_path: Path) -> None:
    code, output = run("import", str(INBOX / "440100002-广州市社会福利院.xlsx"))
    assert code == 0 and "perfxl 模板" in output and "column-missing" not in output
    code, output = run("import", str(INBOX))
    assert "文件不存在" not in output and "读入了 8 个文件" in output
    assert output.count("perfxl 模板") == 7 and "公开表" in output  # 440100001 is published


def test_the_progress_bar_counts_files_rejected_not_issues(tmp_path: Path) -> None:
    """On a terminal (forced here), collect's bar says how many files were sent back so far;
    the samples' four rejected files carry six errors between them."""
    import re
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "perfxl", "collect", str(INBOX), "--roster", str(ROSTER),
         "--ledger", str(tmp_path / "l.db"), "--jobs", "1"],
        capture_output=True, text=True, env={**os.environ, "FORCE_COLOR": "1", "COLUMNS": "150"},
    )  # fmt: skip
    shown = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", done.stderr)
    counts = re.findall(r"已退回 (\d+)", shown)
    assert counts and counts[-1] == "4", shown[-500:]


def test_a_roster_is_remembered_per_year_and_a_smaller_one_is_said(tmp_path: Path) -> None:
    ledger, empty = tmp_path / "l.db", tmp_path / "empty"
    empty.mkdir()
    partial = tmp_path / "partial.csv"
    partial.write_text("code,name\n440100005,广州市福利彩票发行中心\n", encoding="utf-8")
    run("collect", str(INBOX), "--roster", str(ROSTER), "--ledger", str(ledger), "--year", "2026")
    # Another year's roster leaves 2026's alone.
    _, output = run("collect", str(empty), "--roster", str(partial), "--ledger", str(ledger),
                    "--year", "2027")  # fmt: skip
    assert "名单已更换" not in output
    data = json.loads(run("status", "--ledger", str(ledger), "--year", "2026", "--json")[1])
    assert len(data["departments"]) == 5 and not data["unknown"][1:]
    # A smaller roster for the same year replaces it, and says so.
    _, output = run("collect", str(empty), "--roster", str(partial), "--ledger", str(ledger),
                    "--year", "2026")  # fmt: skip
    assert "名单已更换" in output and "少了4个单位" in "".join(output.split())


def test_collect_without_a_roster_matches_by_the_one_remembered(tmp_path: Path) -> None:
    ledger, first, later = tmp_path / "l.db", tmp_path / "first", tmp_path / "later"
    first.mkdir()
    later.mkdir()
    shutil.copy(INBOX / "440100002-广州市社会福利院.xlsx", first)
    shutil.copy(INBOX / "440100001-广州市民政局-项目支出绩效目标表.xlsx", later)
    run("collect", str(first), "--roster", str(ROSTER), "--ledger", str(ledger), "--year", "2026")
    run("collect", str(later), "--ledger", str(ledger), "--year", "2026")
    import sqlite3

    with sqlite3.connect(ledger) as db:
        codes = dict(db.execute("SELECT file_name, department_code FROM submissions"))
    # The published table names its department, which the remembered roster knows.
    assert codes["440100001-广州市民政局-项目支出绩效目标表.xlsx"] == "440100001"
