"""The command line: JSON shape, exit codes, files written, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.formats.published import read_published
from perfxl.formats.structured import read_structured
from tests.conftest import ENCRYPTED, SEED_TXT, SEED_XLSX

runner = CliRunner()


def test_import_json_has_the_documented_shape() -> None:
    result = runner.invoke(app, ["import", str(SEED_TXT), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["department"]["name"] == "广州市民政局"
    assert len(data["projects"]) == 38
    project = data["projects"][1]
    assert {k: project[k] for k in ("name", "total", "fiscal", "special", "other")} == {
        "name": "因公出国（境）经费",
        "total": "83.40",
        "fiscal": "83.40",
        "special": "0.00",
        "other": "0.00",
    }
    assert {"code", "unit", "goal", "indicators"} <= project.keys()
    indicator = data["projects"][0]["indicators"][4]
    assert {k: indicator[k] for k in ("level1", "level2", "name", "period", "annual")} == {
        "level1": "2",
        "level2": "22",
        "name": "局系统直属单位科普活动参与度",
        "period": "≥80%",
        "annual": "≥80%",
    }
    assert indicator["annual_value"] == {
        "text": "≥80%",
        "operator": "≥",
        "number": "80",
        "unit": "%",
    }
    assert data["issues"] == [
        {
            "code": "declared-total-rounding",
            "severity": "warning",
            "sheet": SEED_TXT.stem,
            "cell": "B10",
            "row": 10,
            "column": "总计",
            "file": str(SEED_TXT),
            "value": "7,895.82",
            "message": data["issues"][0]["message"],
            "hint": data["issues"][0]["hint"],
        },
        {**data["issues"][1], "cell": "C10"},
    ]


def test_import_writes_a_structured_workbook(tmp_path: Path) -> None:
    out = tmp_path / "structured.xlsx"
    result = runner.invoke(app, ["import", str(SEED_XLSX), "-o", str(out)])
    assert result.exit_code == 0, result.output
    back = read_structured(out)
    assert len(back.table.projects) == 38 and back.table.indicator_count == 187
    assert back.table.department.name == "广州市民政局"


def test_export_published_round_trip(tmp_path: Path) -> None:
    structured, published = tmp_path / "s.xlsx", tmp_path / "p.xlsx"
    assert runner.invoke(app, ["import", str(SEED_TXT), "-o", str(structured)]).exit_code == 0
    result = runner.invoke(app, ["export", str(structured), "--published", "-o", str(published)])
    assert result.exit_code == 0, result.output
    first, again = read_published(SEED_TXT), read_published(published)
    assert [p.content() for p in again.table.projects] == [
        p.content() for p in first.table.projects
    ]


def test_export_from_json(tmp_path: Path) -> None:
    data = runner.invoke(app, ["import", str(SEED_TXT), "--json"]).stdout
    source = tmp_path / "seed.json"
    source.write_text(data, encoding="utf-8")
    out = tmp_path / "p.xlsx"
    assert runner.invoke(app, ["export", str(source), "--published", "-o", str(out)]).exit_code == 0
    assert read_published(out).table.indicator_count == 187


def test_errors_in_the_data_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "项目名称,总计,财政拨款,财政专户拨款,其他资金,绩效目标,绩效指标\n"
        "合计,9,9,,,,\n甲,10,10,,,目标,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    assert "declared-total-mismatch" in result.output


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("missing.xlsx", None, "文件不存在"),
        ("empty.xlsx", b"", "文件是空的"),
        ("fake.xlsx", b"not a zip at all", "不是有效的 Excel"),
        ("encrypted.xlsx", ENCRYPTED, "加密"),
        ("legacy.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "无法读取"),
        ("page.xls", b"<html><body><table><tr><td>1</td></tr></table>", "网页"),
        ("table.pdf", b"%PDF-1.4", "不支持的文件类型"),
        ("latin.csv", bytes([0x81, 0x30, 0x81]) + b"\xff\xfe\xfd", "编码"),
    ],
)
def test_an_unusable_file_is_one_clear_line_and_exit_2(
    tmp_path: Path, name: str, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "perfxl", "import", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert fragment in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_an_unknown_code_set_is_a_clear_error() -> None:
    result = runner.invoke(app, ["import", str(SEED_TXT), "--codeset", "2019"])
    assert result.exit_code == 2 and "未知的指标体系" in result.output


def test_codes_lists_a_code_set() -> None:
    result = runner.invoke(app, ["codes", "--codeset", "legacy"])
    assert result.exit_code == 0 and "成本指标" in result.output and "14" in result.output


def test_every_command_has_help() -> None:
    for command in app.registered_commands:
        assert command.callback is not None and (command.callback.__doc__ or "").strip(), (
            command.name
        )
        result = runner.invoke(app, [command.name or command.callback.__name__, "--help"])
        assert result.exit_code == 0
