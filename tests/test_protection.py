"""Sheet protection with a password: hashed with SHA-512 as Excel writes it today, so that
a password in Chinese works in Excel, WPS and LibreOffice, and the template still reads
back as before."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.formats.protection import protect_sheets
from tests.conftest import SEED_TXT
from tests.uno_office import PRELUDE

runner = CliRunner()
PASSWORD = "财政局2026"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
HASHED = {"algorithmName", "hashValue", "saltValue", "spinCount"}


def verifies(password: str, protection: dict[str, str]) -> bool:
    """Does `password` match the protection's hash? ECMA-376 Part 1 §18.2.28: SHA-512 over
    the salt and the UTF-16LE password, then once per spin over the hash and the spin's
    number as a little-endian 32-bit integer."""
    assert protection["algorithmName"] == "SHA-512"
    salt = base64.b64decode(protection["saltValue"])
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for spin in range(int(protection["spinCount"])):
        digest = hashlib.sha512(digest + struct.pack("<I", spin)).digest()
    return digest == base64.b64decode(protection["hashValue"])


def sheet_protections(path: Path) -> dict[str, dict[str, str]]:
    """Each worksheet part's <sheetProtection> attributes, by part name."""
    with zipfile.ZipFile(path) as package:
        return {
            name: dict(element.attrib)
            for name in package.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
            for element in ElementTree.fromstring(package.read(name)).iter(f"{NS}sheetProtection")
        }


def template(
    out: Path, password: str | None, *, form: str = "project", prefill: bool = False
) -> Path:
    """`perfxl template` for one department; `out` a .xlsx path, or a folder for both forms."""
    args = ["template", "-o", str(out), "--year", "2026", "--form", form,
            "--department-code", "440100001", "--department-name", "广州市民政局"]  # fmt: skip
    if password is not None:
        args += ["--password", password]
    if prefill:
        args += ["--prefill", str(SEED_TXT)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    if password:
        assert password not in result.output
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both forms written with the Chinese password, and without any."""
    root = tmp_path_factory.mktemp("protection")
    return {
        "password": template(root / "password", PASSWORD, form="both"),
        "none": template(root / "none", None, form="both"),
    }


FILES = ["440100001.xlsx", "440100001-部门整体.xlsx"]


@pytest.mark.parametrize("name", FILES)
def test_every_sheet_carries_a_sha512_hash_and_no_legacy_password(
    both: dict[str, Path], name: str
) -> None:
    hashed = sheet_protections(both["password"] / name)
    plain = sheet_protections(both["none"] / name)
    assert len(hashed) == (6 if "部门整体" in name else 5)
    assert sorted(hashed) == sorted(plain)
    for part, protection in hashed.items():
        assert "password" not in protection, part
        assert protection["algorithmName"] == "SHA-512", part
        assert protection["spinCount"] == "100000", part
        assert len(base64.b64decode(protection["hashValue"], validate=True)) == 64, part
        assert len(base64.b64decode(protection["saltValue"], validate=True)) == 16, part
        # Every other attribute exactly as for a sheet protected without a password.
        assert {k: v for k, v in protection.items() if k not in HASHED} == plain[part], part
        assert plain[part]["sheet"] == "1", part
    first = next(iter(hashed.values()))
    assert verifies(PASSWORD, first)
    assert not verifies("财政局2025", first)
    assert not verifies("", first)
    for protection in hashed.values():  # one hash for the workbook, salt and all
        assert {k: protection[k] for k in HASHED} == {k: first[k] for k in HASHED}


@pytest.mark.parametrize("name", FILES)
def test_openpyxl_reads_every_sheet_protected_with_sha512(both: dict[str, Path], name: str) -> None:
    wb = openpyxl.load_workbook(both["password"] / name)
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert ws.protection.algorithmName == "SHA-512", ws.title
        assert ws.protection.password is None, ws.title
        assert ws.protection.spinCount == 100000, ws.title
    plain = openpyxl.load_workbook(both["none"] / name)
    assert [ws.protection.algorithmName for ws in plain.worksheets] == [None] * len(wb.worksheets)
    assert all(ws.protection.sheet for ws in plain.worksheets)


def validate(path: Path) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """`perfxl validate --format json`: exit code, files and issues, without the file's name."""
    result = runner.invoke(app, ["validate", str(path), "--format", "json"])
    data = json.loads(result.stdout)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "file"} for r in rows]  # noqa: E731
    return result.exit_code, strip(data["files"]), strip(data["issues"])


@pytest.mark.parametrize("prefill", [False, True], ids=["blank", "prefilled"])
def test_a_protected_template_validates_as_one_without_a_password(
    tmp_path: Path, prefill: bool
) -> None:
    protected = template(tmp_path / "protected.xlsx", PASSWORD, prefill=prefill)
    plain = template(tmp_path / "plain.xlsx", None, prefill=prefill)
    code, files, issues = validate(protected)
    assert (code, files, issues) == validate(plain)
    [report] = files
    assert report["kind"] == "template" and report["readable"]
    if prefill:
        assert (report["projects"], report["indicators"]) == (38, 187)
    else:
        assert (report["projects"], [i["code"] for i in issues]) == (0, ["no-projects"])


def test_only_the_protection_changes_in_the_package(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    hashed = wb.add_worksheet("密码")
    hashed.write_string(0, 0, '<sheetProtection password="CEBA"/>')  # a text, left alone
    hashed.protect("x", {"format_cells": True, "select_locked_cells": False, "sort": True})
    wb.add_worksheet("无密码").protect()
    wb.add_worksheet("未保护")
    wb.close()
    os.chmod(path, 0o640)
    before = path.read_bytes()
    assert protect_sheets(path, "x") == 1
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"], "no temporary file left"
    (tmp_path / "before.xlsx").write_bytes(before)
    with zipfile.ZipFile(tmp_path / "before.xlsx") as old, zipfile.ZipFile(path) as new:
        assert [(i.filename, i.compress_type, i.date_time) for i in new.infolist()] == [
            (i.filename, i.compress_type, i.date_time) for i in old.infolist()
        ]
        changed = [n for n in old.namelist() if old.read(n) != new.read(n)]
        assert changed == ["xl/worksheets/sheet1.xml"]
        legacy = old.read(changed[0]).decode()
        now = new.read(changed[0]).decode()
    element = sheet_protections(path)["xl/worksheets/sheet1.xml"]
    assert verifies("x", element) and not verifies("X", element)
    start = legacy.index("<sheetProtection ")
    assert legacy[:start] == now[:start]
    assert re.sub(' password="[0-9A-F]{4}"', "", legacy[start:]) == now[start:].replace(
        "".join(f' {k}="{element[k]}"' for k in sorted(HASHED)), ""
    )
    assert sheet_protections(path)["xl/worksheets/sheet2.xml"] == {
        "sheet": "1", "objects": "1", "scenarios": "1"}  # fmt: skip
    assert "xl/worksheets/sheet3.xml" not in sheet_protections(path)


# --- LibreOffice: the Chinese password unprotects the sheet, a wrong one does not -----------

_UNO = (
    PRELUDE
    + r"""
profile, soffice, request = sys.argv[1:4]
request = json.loads(request)
results = []
office, desktop = start_office(soffice, profile, "perfxl-protection")
try:
    for src, name in request["sheets"]:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                           (pv("Hidden", True),))
        sheet = doc.Sheets.getByName(name)
        steps = [["", sheet.isProtected()]]
        for password in request["passwords"]:
            try:
                sheet.unprotect(password)
            except Exception:  # a wrong password: IllegalArgumentException
                pass
            steps.append([password, sheet.isProtected()])
        results.append(steps)
        doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        office.wait(20)
    except Exception:
        office.kill()
print(json.dumps(results))
"""
)


def _uno_python() -> str | None:
    """A Python that has LibreOffice's `uno` module."""
    for python in ("/usr/bin/python3", shutil.which("python3")):
        if python and os.path.exists(python):
            probe = subprocess.run([python, "-c", "import uno"], capture_output=True)
            if probe.returncode == 0:
                return python
    return None


def test_libreoffice_unprotects_with_the_chinese_password_only(
    both: dict[str, Path], tmp_path: Path
) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    python = _uno_python()
    if python is None:
        pytest.skip("no Python with LibreOffice's uno module (apt-get install python3-uno)")
    script = tmp_path / "unprotect.py"
    script.write_text(_UNO, encoding="utf-8")
    sheets = [[str(both["password"] / FILES[0]), "项目"],
              [str(both["password"] / FILES[1]), "总体情况"]]  # fmt: skip
    request = json.dumps({"sheets": sheets, "passwords": ["错误密码", "财政局2025", PASSWORD]})
    run = subprocess.run(
        [python, str(script), str(tmp_path / "lo-profile"), soffice, request],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    expected = [["", True], ["错误密码", True], ["财政局2025", True], [PASSWORD, False]]
    assert results == [expected, expected]
