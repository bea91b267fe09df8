"""The office's pages, under /admin: signing in and out, the roster board, each
submission's verdict and annotated copy, the ledger workbook, the detail tables' CSV (in a
zip) and the list of departments still to remind. Every page but the sign-in asks for the
office's session, signed with the office's credentials as they are."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from perfxl.formats.roster import RosterEntry
from perfxl.ledger import access
from perfxl.ledger.exports import write_details
from perfxl.ledger.queries import Submission
from perfxl.ledger.status import STATUS_TEXT, DepartmentStatus, department_status
from perfxl.ledger.workbook import write_ledger
from perfxl.web.department import DepartmentPages
from perfxl.web.guard import form_ok, form_token, session_cookie, session_ok
from perfxl.web.site import (
    FORM_TITLES,
    Site,
    attachment,
    client_of,
    download,
    form_text,
    message,
    render,
    shown_time,
)

ADMIN_COOKIE = "perfxl_admin"
EVENT_TEXT = {"upload": "上传", "verdict": "结果", "refused": "拒收", "login": "登录",
              "failed": "处理失败"}  # fmt: skip


@dataclass
class Standing:
    """A roster department as the office sees it: its status in each form the server asks
    for, with the submission that stands, and its contact."""

    department: DepartmentStatus
    forms: dict[str, tuple[str, Submission | None]]  # form → (its status, the submission)
    contact: str | None

    @property
    def owed(self) -> list[str]:
        """The forms not yet accepted: the board's list to remind and the reminders' CSV
        both say these."""
        return [form for form, (status, _) in self.forms.items() if status != "accepted"]


def form_status(d: DepartmentStatus, form: str) -> tuple[str, Submission | None]:
    """A department's status in one form, and the submission that stands in it."""
    if form == "project":
        return d.status, d.submission
    if d.overall is None:
        return "missing", None
    return d.overall.status, d.overall.submission


class OfficePages:
    """The pages the office signs in for; a submission's page and annotated copy are the
    department's (`department`), seen from the office."""

    def __init__(self, site: Site, department: DepartmentPages) -> None:
        self.site = site
        self.department = department

    def credentials(self) -> str:
        """A fingerprint of the office's credentials as they are now (its token and the
        password's hash): sessions are signed with it, so changing either ends them."""
        with self.site.store() as s:
            password = access.secret(s, "admin_password") or ""
        given = f"{self.site.settings.admin_token or ''}\0{password}"
        return hashlib.sha256(given.encode()).hexdigest()

    async def signed_in(self, request: Request) -> bool:
        """Does the request carry a session of the office's, still good?"""
        cookie = request.cookies.get(ADMIN_COOKIE)
        if not cookie:
            return False
        return session_ok(self.site.key, await run_in_threadpool(self.credentials), cookie)

    async def admin(self, request: Request) -> Response:
        """The board, or the sign-in page for a client not signed in."""
        if not await self.signed_in(request):
            return render("login.html", csrf=form_token(self.site.key, "login"),
                          failed=bool(request.query_params.get("failed")))  # fmt: skip
        return await run_in_threadpool(self.board)

    async def login(self, request: Request) -> Response:
        """Sign in with the token or the password: a session cookie, or back to try again
        (a wrong password counts against the client's address)."""
        site, client = self.site, client_of(request)
        if site.throttle.blocked(client):
            return message("请稍后再试", "失败的尝试过多，请五分钟后再试。", 429)
        async with request.form(max_files=0, max_fields=4) as form:
            csrf, password = form_text(form.get("csrf")), form_text(form.get("password")) or ""
        ok = form_ok(site.key, "login", csrf) and await run_in_threadpool(
            self._password_ok, password
        )
        await run_in_threadpool(site.logged, "login", "登录" if ok else "口令不对", None, client)
        if not ok:
            site.throttle.failed(client)
            return RedirectResponse("/admin?failed=1", status_code=303)
        response = RedirectResponse("/admin", status_code=303)
        signed = session_cookie(site.key, await run_in_threadpool(self.credentials))
        response.set_cookie(ADMIN_COOKIE, signed, httponly=True,
                            secure=request.url.scheme == "https",
                            samesite="strict", path="/admin")  # fmt: skip
        return response

    def _password_ok(self, password: str) -> bool:
        """Is it the token (PERFXL_ADMIN_TOKEN) or the password set with --set-admin?"""
        given, token = password.encode(), (self.site.settings.admin_token or "").encode()
        if token and hmac.compare_digest(given, token):
            return True
        with self.site.store() as s:
            return access.password_ok(s, password)

    async def logout(self, request: Request) -> Response:
        """Sign out: the session cookie removed."""
        async with request.form(max_files=0, max_fields=2) as form:
            if not form_ok(self.site.key, "admin", form_text(form.get("csrf"))):
                return message("页面已过期", "请刷新后再试。", 403, "/admin")
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    def standings(self) -> list[Standing]:
        """Each roster department's standing in each form the server asks for, worked out
        once for the board and the reminders alike."""
        settings, entries = self.site.settings, self.site.roster()
        with self.site.store() as s:
            report = department_status(s, entries, settings.year)
        contacts = {e.code: e.contact for e in entries}
        return [
            Standing(d, {form: form_status(d, form) for form in settings.forms},
                     contacts.get(d.code))
            for d in report.departments
        ]  # fmt: skip

    def board(self) -> HTMLResponse:
        """The roster board: each department's standing in each form and its last upload,
        the counts, who still owes what, and the latest events."""
        settings = self.site.settings
        standings = self.standings()
        with self.site.store() as s:
            everything = s.submissions(settings.year)
            recent = access.events(s, limit=50)
        last: dict[str, str] = {}
        for x in everything:
            if x.department_code:
                last[x.department_code] = max(last.get(x.department_code, ""), x.received_at)
        rows, missing = [], []
        counts = {f: {"accepted": 0, "rejected": 0, "missing": 0} for f in settings.forms}
        for standing in standings:
            d, cells = standing.department, []
            for form, (code, chosen) in standing.forms.items():
                counts[form][code if code in counts[form] else "missing"] += 1
                cells.append({"status": code, "id": chosen.id if chosen else None,
                              "text": STATUS_TEXT.get(code, code)})  # fmt: skip
            rows.append({"code": d.code, "name": d.name, "forms": cells,
                         "last": shown_time(last.get(d.code)),
                         "contact": standing.contact})  # fmt: skip
            if standing.owed:
                owed = "、".join(FORM_TITLES[form] for form in standing.owed)
                missing.append({"code": d.code, "name": d.name, "owed": owed,
                                "contact": standing.contact})  # fmt: skip
        return render(
            "admin.html", year=settings.year, departments=rows, missing=missing,
            counts=[{"key": f, "title": FORM_TITLES[f], **counts[f]} for f in settings.forms],
            log=[{"time": shown_time(e["at"]), "department": e["department_code"],
                  "kind": EVENT_TEXT.get(e["kind"], e["kind"]), "detail": e["detail"]}
                 for e in recent],
            csrf=form_token(self.site.key, "admin"),
        )  # fmt: skip

    async def submission(self, request: Request) -> Response:
        """A submission's verdict, any department's."""
        if not await self.signed_in(request):
            return RedirectResponse("/admin", status_code=303)
        return await run_in_threadpool(self._submission, request, request.path_params["sid"])

    def _submission(self, request: Request, sid: int) -> Response:
        """The verdict page, as its department sees it, leading back to the board."""
        with self.site.store() as s:
            chosen = s.submission(sid)
        if chosen is None or chosen.department_code is None:
            return message("没有这份提交", "找不到这份提交。", 404, "/admin")
        entry = RosterEntry(code=chosen.department_code, name=chosen.department_name or "")
        return self.department.verdict_page(request, entry, sid, "/admin")

    async def annotated(self, request: Request) -> Response:
        """A submission's annotated copy, any department's."""
        if not await self.signed_in(request):
            return RedirectResponse("/admin", status_code=303)
        sid = request.path_params["sid"]
        return await run_in_threadpool(self.department.annotated_copy, sid, None)

    async def ledger(self, request: Request) -> Response:
        """The ledger workbook of the year (as `perfxl ledger` writes it)."""
        if not await self.signed_in(request):
            return RedirectResponse("/admin", status_code=303)
        return await run_in_threadpool(self._ledger)

    def _ledger(self) -> Response:
        settings = self.site.settings
        folder = Path(tempfile.mkdtemp(prefix="perfxl-ledger-"))
        target = folder / "ledger.xlsx"
        with self.site.store() as s:
            write_ledger(s, target, settings.codeset, self.site.roster(), settings.year)
        return download(target, f"{settings.year}年预算绩效目标汇总台账.xlsx", folder)

    async def export(self, request: Request) -> Response:
        """The detail tables of the year, each a CSV file, in one zip."""
        if not await self.signed_in(request):
            return RedirectResponse("/admin", status_code=303)
        return await run_in_threadpool(self._export)

    def _export(self) -> Response:
        year = self.site.settings.year
        folder = Path(tempfile.mkdtemp(prefix="perfxl-export-"))
        with self.site.store() as s:
            written = write_details(s, folder / "csv", "csv", year)
        target = folder / "export.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)
        return download(target, f"{year}年预算绩效目标明细表.zip", folder)

    async def reminders(self, request: Request) -> Response:
        """The departments that still owe a form, with their contacts, as a CSV file."""
        if not await self.signed_in(request):
            return RedirectResponse("/admin", status_code=303)
        return await run_in_threadpool(self._reminders)

    def _reminders(self) -> Response:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["单位编码", "单位名称", "项目支出", "部门整体", "联系人"])
        for standing in self.standings():
            if standing.owed:
                d = standing.department
                project, overall = form_status(d, "project")[0], form_status(d, "department")[0]
                writer.writerow([d.code, d.name, STATUS_TEXT.get(project, project),
                                 STATUS_TEXT.get(overall, overall), standing.contact])  # fmt: skip
        return Response(
            "\ufeff" + text.getvalue(), media_type="text/csv; charset=utf-8",
            headers=attachment(f"{self.site.settings.year}年催报名单.csv"),
        )  # fmt: skip
