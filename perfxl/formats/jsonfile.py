"""The JSON that `perfxl import --json` prints, read back as structured data."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from perfxl.domain.model import Issue, Project, ReadResult, TargetTable
from perfxl.errors import FileError


def read_json(path: Path, content: bytes | None = None) -> ReadResult:
    try:
        raw = content if content is not None else path.read_bytes()
        data = json.loads(raw.decode("utf-8-sig"))
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
