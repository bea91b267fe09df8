"""Read any file perfxl understands into structured data, and say which kind it was:
a published table, perfxl's own structured workbook, or the JSON that `import` prints."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from perfxl.codesets import CodeSet
from perfxl.errors import FileError
from perfxl.grid import read_sheets
from perfxl.model import Issue, Project, ReadResult, TargetTable
from perfxl.published import read_published
from perfxl.structured import is_structured, read_structured


def read_json(path: Path) -> ReadResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        table = TargetTable(
            department=data.get("department") or {},
            fiscal_year=data.get("fiscal_year"),
            codeset=data.get("codeset"),
            projects=[Project.model_validate(p) for p in data.get("projects", [])],
        )
        issues = [Issue.model_validate(i) for i in data.get("issues", [])]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise FileError(path, f"不是 perfxl 导出的 JSON：{exc}") from exc
    except ValidationError as exc:
        raise FileError(path, f"JSON 内容不符合格式：{exc.error_count()} 处错误") from exc
    return ReadResult(file=str(path), kind="json", table=table, issues=issues)


def read_any(path: Path, codeset: CodeSet | None = None) -> ReadResult:
    """Read a file of any supported kind. Raises FileError only for an unreadable file."""
    if path.suffix.lower() == ".json":
        return read_json(path)
    sheets = read_sheets(path) if path.suffix.lower() in {".xlsx", ".xlsm", ".ods"} else None
    if sheets is not None and is_structured(sheets):
        return read_structured(path, sheets)
    return read_published(path, codeset, sheets)
