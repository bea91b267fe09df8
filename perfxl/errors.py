"""The exceptions perfxl raises. Bad data is an issue, not an exception: these are for
input that cannot be processed at all."""

from __future__ import annotations

from pathlib import Path


class PerfxlError(Exception):
    """Base of every error perfxl raises on purpose."""


class InputError(PerfxlError):
    """An argument or a configuration value is wrong (a code set, an option)."""


class FileError(PerfxlError):
    """A file cannot be read or written at all."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
