"""What the web page refuses, over plain HTTP: a department's link reads and writes only
its own department; an oversized or non-spreadsheet upload, a forged form, a wrong office
password and an unknown link each get a clear refusal in Chinese and change nothing;
repeated failures are throttled; every upload, verdict and refusal is logged."""

from __future__ import annotations

import io
import re
import sqlite3
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web_server import ADMIN_TOKEN, ROOT, Server, serving

INBOX = ROOT / "samples" / "inbox"
A, B = "440100003", "440100004"  # 广州市老人院, 广州市救助管理站
B_FILE = INBOX / "440100004-广州市救助管理站.xlsx"  # a template filled for B
A_FILE = INBOX / "440100003-广州市老人院-第2次.xlsx"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def call(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a request; redirects are not followed."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=60) as response:
            body = response.read()
            return response.status, dict(response.headers), body.decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


def multipart(fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  f"{value}\r\n".encode())  # fmt: skip
    if file is not None:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file[0]}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        out.write(head.encode())
        out.write(file[1] + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page[:500]
    return found.group(1)


def upload(
    link: str, name: str, data: bytes, csrf: str | None = None
) -> tuple[int, dict[str, str], str]:
    token = csrf if csrf is not None else csrf_of(call(link)[2])
    body, kind = multipart({"csrf": token}, (name, data))
    return call(f"{link}/upload", body, {"Content-Type": kind})


def submissions(server: Server) -> list[tuple[object, ...]]:
    with sqlite3.connect(server.ledger) as db:
        return db.execute(
            "SELECT id, department_code, status, errors FROM submissions ORDER BY id"
        ).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("safety"), "--max-mb", "1") as running:
        yield running


def test_a_link_reads_only_its_own_department(server: Server) -> None:
    status, _, page = call(server.links[A])
    assert status == 200 and "广州市老人院" in page and "广州市救助管理站" not in page
    status, headers, _ = upload(server.links[B], B_FILE.name, B_FILE.read_bytes())
    assert status == 303
    b_submission = headers["location"].rsplit("/s/", 1)[1].split("?")[0]
    assert call(f"{server.links[B]}/s/{b_submission}")[0] == 200
    for path in (f"/s/{b_submission}", f"/s/{b_submission}/annotated"):
        status, _, page = call(server.links[A] + path)
        assert status == 404 and "找不到这份提交" in page, path


def test_a_file_sent_by_another_departments_link_is_the_senders_and_rejected(
    server: Server,
) -> None:
    """B's filled template sent through A's link: recorded as A's, rejected, saying whose
    template it is; B's standing is not touched."""
    before = submissions(server)
    data = _touched(B_FILE.read_bytes())  # other bytes than B's own upload: a new file
    status, headers, _ = upload(server.links[A], "救助站.xlsx", data)
    assert status == 303
    status, _, page = call(server.url + headers["location"])
    assert status == 200 and "已退回" in page
    assert "这是“广州市救助管理站（440100004）”的模板，不是“广州市老人院（440100003）”的" in page
    new = [s for s in submissions(server) if s not in before]
    assert [(s[1], s[2]) for s in new] == [(A, "rejected")]
    b_rows = [s for s in submissions(server) if s[1] == B]
    assert all(s in before for s in b_rows)


def _touched(data: bytes) -> bytes:
    """The same workbook with other bytes: one more (empty) file in the package."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr(f"docProps/note-{uuid.uuid4().hex}.txt", "other bytes")
    return out.getvalue()


def test_oversized_and_non_spreadsheet_uploads_are_refused_and_nothing_is_kept(
    server: Server,
) -> None:
    before = submissions(server)
    uploads = server.work / "uploads"
    kept = set(uploads.iterdir()) if uploads.exists() else set()
    cases = {
        "big.xlsx": (b"PK\x03\x04" + b"\0" * (1024 * 1024 + 10), 413, "文件超过 1 MB"),
        "notes.xlsx": ("这只是一段文字，不是工作簿".encode() * 10, 415, "这不是 Excel 工作簿"),
        "archive.xlsx": (_zip({"readme.txt": "hello"}), 415, "这不是 Excel 工作簿"),
        "empty.xlsx": (b"", 400, "文件是空的"),
    }
    for name, (data, code, said) in cases.items():
        status, _, page = upload(server.links[A], name, data)
        assert status == code and said in page, (name, status, page[:300])
    assert submissions(server) == before
    assert (set(uploads.iterdir()) if uploads.exists() else set()) == kept


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_a_forged_form_is_refused(server: Server) -> None:
    before = submissions(server)
    status, _, page = upload(server.links[A], A_FILE.name, A_FILE.read_bytes(), csrf="0" * 64)
    assert status == 403 and "页面已过期" in page
    other = csrf_of(call(server.links[B])[2])  # a real token, of another department's page
    status, _, _ = upload(server.links[A], A_FILE.name, A_FILE.read_bytes(), csrf=other)
    assert status == 403
    assert submissions(server) == before


def test_a_wrong_office_password_gets_nothing(server: Server) -> None:
    status, _, page = call(server.url + "/admin")
    assert status == 200 and "财政部门登录" in page
    token = csrf_of(page)
    for password in ("wrong", ADMIN_TOKEN + "x", ""):
        body = f"csrf={token}&password={urllib.request.quote(password)}".encode()
        status, headers, _ = call(server.url + "/admin/login", body, FORM)
        assert status == 303 and headers["location"].endswith("failed=1")
        assert "set-cookie" not in {k.lower() for k in headers}
    for path in ("/admin/ledger.xlsx", "/admin/export.zip", "/admin/reminders.csv", "/admin/s/1"):
        for cookie in ({}, {"Cookie": "perfxl_admin=99999999999.forged"}):
            status, headers, body = call(server.url + path, headers=cookie)
            assert status == 303 and headers["location"] == "/admin", path
            assert "单位" not in body
    body = f"csrf={token}&password={urllib.request.quote(ADMIN_TOKEN)}".encode()
    status, headers, _ = call(server.url + "/admin/login", body, FORM)
    cookie = headers["set-cookie"].split(";")[0]
    status, _, board = call(server.url + "/admin", headers={"Cookie": cookie})
    assert status == 200 and "填报情况" in board


def test_every_upload_verdict_and_refusal_is_logged(server: Server) -> None:
    assert upload(server.links[A], A_FILE.name, A_FILE.read_bytes())[0] == 303
    assert upload(server.links[B], "notes.xlsx", b"not a workbook")[0] == 415
    with sqlite3.connect(server.ledger) as db:
        kinds = {(k, c) for k, c in db.execute("SELECT kind, department_code FROM events")}
        times = [t for (t,) in db.execute("SELECT at FROM events")]
    assert {("upload", A), ("verdict", A), ("refused", B)} <= kinds
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", t) for t in times)


def test_the_office_signs_in_with_the_password_set_with_set_admin(server: Server) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "perfxl", "serve", "--ledger", str(server.ledger), "--year",
         "2026", "--set-admin"],
        input="财政局口令-2026\n财政局口令-2026\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and "已设置登录口令" in done.stdout, done.stderr
    token = csrf_of(call(server.url + "/admin")[2])
    for password, signed_in in (("财政局口令-2025", False), ("财政局口令-2026", True)):
        body = f"csrf={token}&password={urllib.request.quote(password)}".encode()
        status, headers, _ = call(server.url + "/admin/login", body, FORM)
        assert status == 303 and ("set-cookie" in {k.lower() for k in headers}) == signed_in


def test_a_chunked_upload_past_the_cap_is_stopped_as_it_arrives(server: Server) -> None:
    """No length said (chunked): the body is counted as it comes and stopped past the cap;
    nothing is kept."""
    import http.client

    before = submissions(server)
    link = server.links[B]
    token = csrf_of(call(link)[2])
    body, kind = multipart({"csrf": token}, ("big.xlsx", b"PK\x03\x04" + b"\0" * (3 << 20)))
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    path = link.removeprefix(server.url) + "/upload"
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    try:
        connection.request("POST", path, body=chunks, headers={"Content-Type": kind},
                           encode_chunked=True)  # fmt: skip
        response = connection.getresponse()
        status, page = response.status, response.read().decode()
    except (ConnectionError, OSError):  # the server may stop reading and close
        status, page = 413, "文件超过 1 MB"
    finally:
        connection.close()
    assert status == 413 and "文件超过 1 MB" in page
    assert submissions(server) == before


def test_the_same_bytes_sent_first_by_another_department_do_not_take_its_place(
    server: Server,
) -> None:
    """A's link sends B's workbook first (rejected: it is B's template); B then sends the
    same bytes: B's own submission, accepted."""
    data = _touched(_touched(B_FILE.read_bytes()))
    status, headers, _ = upload(server.links[A], "救助站.xlsx", data)
    assert status == 303
    status, headers, _ = upload(server.links[B], "救助站.xlsx", data)
    assert status == 303 and "again" not in headers["location"]
    status, _, page = call(server.url + headers["location"])
    assert status == 200 and "已接收" in page
    mine = [s for s in submissions(server) if s[1] == B]
    assert mine[-1][2] == "accepted"


def test_two_returns_in_one_second_stand_in_the_order_they_came(server: Server) -> None:
    first = _touched(_touched(_touched(A_FILE.read_bytes())))
    second = _touched(first)
    ids = []
    for data in (first, second):
        status, headers, _ = upload(server.links[A], "老人院.xlsx", data)
        assert status == 303
        ids.append(int(headers["location"].rsplit("/s/", 1)[1].split("?")[0]))
    standing = {s[0]: s[2] for s in submissions(server)}
    assert (standing[ids[0]], standing[ids[1]]) == ("superseded", "accepted")


def test_signing_out_and_a_new_password_end_the_office_s_sessions(server: Server) -> None:
    import subprocess
    import sys

    def sign_in(password: str) -> str:
        token = csrf_of(call(server.url + "/admin")[2])
        body = f"csrf={token}&password={urllib.request.quote(password)}".encode()
        status, headers, _ = call(server.url + "/admin/login", body, FORM)
        assert status == 303 and "set-cookie" in {k.lower() for k in headers}
        return str(headers["set-cookie"]).split(";")[0]

    cookie = sign_in(ADMIN_TOKEN)
    status, _, board = call(server.url + "/admin", headers={"Cookie": cookie})
    assert "填报情况" in board
    token = csrf_of(board)
    status, headers, _ = call(server.url + "/admin/logout", f"csrf={token}".encode(),
                              {**FORM, "Cookie": cookie})  # fmt: skip
    assert status == 303 and "perfxl_admin=" in headers.get("set-cookie", "")
    done = subprocess.run(
        [sys.executable, "-m", "perfxl", "serve", "--ledger", str(server.ledger), "--year",
         "2026", "--set-admin"],
        input="另一个口令-2026\n另一个口令-2026\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status, headers, _ = call(server.url + "/admin/ledger.xlsx", headers={"Cookie": cookie})
    assert status == 303 and headers["location"] == "/admin"  # signed before the change


def test_a_rotated_link_no_longer_opens_anything(server: Server) -> None:
    import csv
    import subprocess
    import sys

    out = server.work / "rotated.csv"
    done = subprocess.run(
        [sys.executable, "-m", "perfxl", "links", "--ledger", str(server.ledger), "--year",
         "2026", "--base-url", server.url, "--rotate", "-o", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with out.open(encoding="utf-8-sig") as fh:
        fresh = {row["单位编码"]: row["链接"] for row in csv.DictReader(fh)}
    assert call(server.links[A])[0] == 404
    status, _, page = call(fresh[A])
    assert status == 200 and "广州市老人院" in page
    server.links.update(fresh)


def test_a_department_keeps_at_most_the_files_the_server_allows(tmp_path: Path) -> None:
    """`--max-uploads 2`: a third new file is refused and nothing of it kept; the same
    bytes as one kept still show their verdict."""
    with serving(tmp_path / "quota", "--max-uploads", "2") as small:
        sent = []
        for n in range(2):
            data = _touched(A_FILE.read_bytes())
            status, headers, _ = upload(small.links[A], f"第{n}次.xlsx", data)
            assert status == 303
            sent.append(data)
        status, _, page = upload(small.links[A], "第3次.xlsx", _touched(A_FILE.read_bytes()))
        assert status == 429 and "达到上限" in page
        assert len(list((small.work / "uploads").iterdir())) == 2
        status, headers, _ = upload(small.links[A], "第1次.xlsx", sent[0])
        assert status == 303 and headers["location"].endswith("again=1")


def test_unknown_links_are_refused_then_throttled(server: Server) -> None:
    """(Last in this module: the client is then refused for five minutes.)"""
    status, _, page = call(server.url + "/d/not-a-real-token")
    assert status == 404 and "链接无效" in page
    statuses = [call(server.url + f"/d/guess-{n}")[0] for n in range(12)]
    assert 429 in statuses
    status, _, page = call(server.links[A])  # the same client, with a good link: still refused
    assert status == 429 and "请五分钟后再试" in page
