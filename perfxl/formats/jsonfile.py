"""The JSON that `perfxl import --json` prints, read back as structured data."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import ValidationError

from perfxl.domain.model import Indicator, Issue, OverallTable, Project, ReadResult, TargetTable
from perfxl.errors import FileError


def read_json(path: Path, content: bytes | None = None) -> ReadResult:
    try:
        raw = content if content is not None else path.read_bytes()
        data = json.loads(raw.decode("utf-8-sig"))
        if isinstance(data, dict) and data.get("kind") == "department":
            return _department(path, data)
        table = TargetTable(
            department=data.get("department") or {},
            fiscal_year=data.get("fiscal_year"),
            codeset=data.get("codeset"),
            extras=data.get("extras") or [],
            projects=[Project.model_validate(p) for p in data.get("projects", [])],
        )
        issues = [Issue.model_validate(i) for i in data.get("issues", [])]
        _amounts(table)
    except (
        OSError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        AttributeError,
        InvalidOperation,
    ) as exc:
        raise FileError(path, f"不是 perfxl 导出的 JSON：{exc}") from exc
    except ValidationError as exc:
        raise FileError(path, f"JSON 内容不符合格式：{exc.error_count()} 处错误") from exc
    return ReadResult(file=str(path), kind="json", table=table, issues=issues)


def _department(path: Path, data: dict[str, object]) -> ReadResult:
    """A department-wide table as `import --json` prints it."""
    try:
        overall = OverallTable.model_validate({k: v for k, v in data.items()
                                               if k not in ("file", "kind", "issues")})  # fmt: skip
        issues = [Issue.model_validate(i) for i in data.get("issues") or []]  # type: ignore[attr-defined]
    except ValidationError as exc:
        raise FileError(path, f"JSON 内容不符合格式：{exc.error_count()} 处错误") from exc
    summary = TargetTable(department=overall.department, fiscal_year=overall.fiscal_year,
                          codeset=overall.codeset)  # fmt: skip
    return ReadResult(file=str(path), kind="json", table=summary, issues=issues, overall=overall)


def _amounts(table: TargetTable) -> None:
    """JSON carries amounts as text: an extra field's amounts become Decimal again."""
    money = {(e.entity, e.key) for e in table.extras if e.money}
    if not money:
        return
    for project in table.projects:
        rows: list[tuple[str, Project | Indicator]] = [("project", project)]
        rows += [("indicator", i) for i in project.indicators]
        for entity, row in rows:
            for key, value in row.extra.items():
                if (entity, key) in money and isinstance(value, str):
                    row.extra[key] = Decimal(value)
