"""Where the declarative data (templates/) is: inside the installed package, or at the top
of a source checkout."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from perfxl.errors import InputError

M = TypeVar("M", bound=BaseModel)


@cache
def templates_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise RuntimeError("perfxl is installed without its templates/ folder")


def load_toml(path: Path, model: type[M], what: str) -> M:
    """A TOML file as a model; any problem is an InputError naming the file (`what` is
    how the user calls it: 指标体系文件, 模板定义文件, 配置文件) and each bad field."""
    try:
        return model.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{what} {path} 无法读取：{exc}") from exc
    except ValidationError as exc:
        problems = "；".join(
            f"{'.'.join(str(part) for part in err['loc']) or '文件'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InputError(f"{what} {path} 格式不对：{problems}") from exc
