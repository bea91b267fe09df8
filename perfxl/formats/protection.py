"""Sheet protection with the SHA-512 password hash Excel writes today.

xlsxwriter protects a sheet with the legacy 16-bit `password="XXXX"` hash, which it takes
from the password's code points where that algorithm reads bytes: LibreOffice rejects the
right password when it has Chinese (any non-ASCII) characters. After xlsxwriter has
closed the workbook, each worksheet's `<sheetProtection>` is rewritten to carry
`algorithmName="SHA-512"`, `hashValue`, `saltValue` and `spinCount` instead (ECMA-376
Part 1 §18.2.28, the password verifier of MS-OFFCRYPTO 2.3.7.1): what Excel itself
writes, and what LibreOffice checks for a password in any script. Every other attribute
is kept as it was, and every other part of the package is copied unchanged, in its order
and with its compression.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path

ALGORITHM = "SHA-512"
SPIN_COUNT = 100_000
SALT_BYTES = 16

_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_PROTECTION = re.compile(rb"<sheetProtection\b[^>]*>")
_LEGACY = re.compile(rb'\spassword="[^"]*"')


def password_hash(password: str, salt: bytes, spin_count: int = SPIN_COUNT) -> bytes:
    """The verifier of `password`: SHA-512 of the salt and the password in UTF-16LE, then
    hashed again `spin_count` times, each time with the round's number (4 bytes, little
    endian) appended."""
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for n in range(spin_count):
        digest = hashlib.sha512(digest + n.to_bytes(4, "little")).digest()
    return digest


def protect_sheets(path: Path, password: str) -> int:
    """Rewrite, in place, the password of every protected sheet of the .xlsx at `path` as a
    SHA-512 hash; sheets protected without a password are left as they are. Returns the
    number of sheets rewritten. Raises OSError when the file cannot be rewritten."""
    salt = secrets.token_bytes(SALT_BYTES)
    # ~0.1 s per hash at 100,000 spins: computed once per workbook, with one salt, for all sheets.
    digest = password_hash(password, salt)
    hashed = (
        f' algorithmName="{ALGORITHM}"'
        f' hashValue="{base64.b64encode(digest).decode("ascii")}"'
        f' saltValue="{base64.b64encode(salt).decode("ascii")}"'
        f' spinCount="{SPIN_COUNT}"'
    ).encode("ascii")

    rewritten = 0

    def rehash(match: re.Match[bytes]) -> bytes:
        nonlocal rewritten
        element, n = _LEGACY.subn(lambda _: hashed, match.group(0), count=1)
        rewritten += n
        return element

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temp = Path(name)
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(temp, "w") as target:
            for info in source.infolist():
                data = source.read(info)
                if _WORKSHEET.fullmatch(info.filename):
                    data = _PROTECTION.sub(rehash, data)
                target.writestr(_copy(info), data)
        shutil.copymode(path, temp)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return rewritten


def _copy(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new entry like `info`: its name, time, compression and attributes."""
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    entry.compress_type = info.compress_type
    entry.external_attr = info.external_attr
    entry.create_system = info.create_system
    entry.comment = info.comment
    return entry
