"""What the office reads on the terminal: names as they are (brackets too), every issue with
its fix, changes by project name and caption, and a long run summed up with the list in a
file."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

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
