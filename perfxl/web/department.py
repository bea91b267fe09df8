"""A department's pages, reached only by its link (/d/<token>) and showing only that
department: its page (each form's standing, its history), its templates, the upload, a
submission's verdict and its annotated copy. The office sees a submission's verdict and
annotated copy through the same code (office.py)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from perfxl.checks.validate import data_rows
from perfxl.cli.render import change_text
from perfxl.domain.model import Department, OverallTable, TargetTable
from perfxl.errors import PerfxlError
from perfxl.formats.overall_writer import write_overall_template
from perfxl.formats.roster import RosterEntry
from perfxl.formats.template_writer import TemplateOptions, write_template
from perfxl.ledger import access
from perfxl.ledger.details import FORMS, SEVERITY_TEXT
from perfxl.ledger.queries import Submission
from perfxl.ledger.recording import owned_digest
from perfxl.ledger.status import STATUS_TEXT, department_status
from perfxl.ledger.uploads import QuotaReached
from perfxl.web.guard import form_ok, form_token
from perfxl.web.site import (
    FORM_TITLES,
    Site,
    client_of,
    download,
    form_text,
    log,
    message,
    render,
    sender,
    shown_time,
)


class DepartmentPages:
    """The pages a department's link opens."""

    def __init__(self, site: Site) -> None:
        self.site = site

    async def guarded(self, request: Request) -> RosterEntry | Response:
        """The department a link opens, or the refusal."""
        client = client_of(request)
        if self.site.throttle.blocked(client):
            return message("请稍后再试", "失败的尝试过多，请五分钟后再试。", 429)
        entry = await run_in_threadpool(self.opens, request.path_params["token"])
        if entry is None:
            self.site.throttle.failed(client)
            await run_in_threadpool(self.site.logged, "refused", "无效的链接", None, client)
            return message("链接无效", "此链接无效或已停用：请使用财政部门最新发来的链接。", 404)
        return entry

    def opens(self, token: str) -> RosterEntry | None:
        """The roster department of this year a link's token opens."""
        with self.site.store() as s:
            found = access.department_of(s, token)
        if found is None or found[0] != self.site.settings.year:
            return None
        return next((e for e in self.site.roster() if e.code == found[1]), None)

    async def page(self, request: Request) -> Response:
        """The department's page: each form it owes, its templates, the upload, its history."""
        entry = await self.guarded(request)
        if isinstance(entry, Response):
            return entry
        return await run_in_threadpool(self._page, request, entry)

    def _page(self, request: Request, entry: RosterEntry) -> HTMLResponse:
        """The page itself (in a thread: it reads the ledger)."""
        settings, token = self.site.settings, request.path_params["token"]
        with self.site.store() as s:
            report = department_status(s, [entry], settings.year)  # this one's only
            mine = s.submissions(settings.year, department=entry.code)
        status = next((d for d in report.departments if d.code == entry.code), None)
        forms = []
        for form in settings.forms:
            chosen = _chosen(mine, form)
            code = chosen.status if chosen else "missing"
            if status is not None and form == "project":
                code = status.status
            elif status is not None and status.overall is not None:
                code = status.overall.status
            forms.append({"key": form, "title": FORM_TITLES[form], "status": code,
                          "status_text": STATUS_TEXT.get(code, code),
                          "detail": _detail(chosen), "filled": code == "accepted"})  # fmt: skip
        history = [
            {"id": x.id, "time": shown_time(x.received_at), "form": FORMS.get(x.form, x.form),
             "status": _verdict(x)[0], "status_text": _verdict(x)[1],
             "errors": x.errors, "warnings": x.warnings}
            for x in sorted(mine, key=lambda x: x.id, reverse=True)
        ]  # fmt: skip
        return render(
            "department.html", name=entry.name, code=entry.code, year=settings.year,
            forms=forms, history=history, base=f"/d/{token}", max_mb=settings.max_mb,
            csrf=form_token(self.site.key, access.token_hash(token)),
        )  # fmt: skip

    async def template(self, request: Request) -> Response:
        """A form's template, made for this department; with `?filled=1`, filled with what
        the ledger has accepted of it (to revise and hand in again)."""
        entry = await self.guarded(request)
        if isinstance(entry, Response):
            return entry
        settings, form = self.site.settings, request.path_params["form"]
        if form not in settings.forms:
            return message("没有这种模板", "请从页面上的按钮下载模板。", 404)
        filled = request.query_params.get("filled") == "1"
        return await run_in_threadpool(self._template, entry, form, filled)

    def _template(self, entry: RosterEntry, form: str, filled: bool) -> Response:
        settings = self.site.settings
        dept = Department(code=entry.code, name=entry.name)
        project: TargetTable | None = None
        overall: OverallTable | None = None
        if filled:
            with self.site.store() as s:
                accepted = s.submissions(settings.year, "accepted", form, entry.code)
                if not accepted:
                    return message("没有已接收的内容", "这张表还没有被接收的提交。", 404)
                sid = accepted[-1].id
                if form == "project":
                    project = TargetTable(department=dept, fiscal_year=settings.year,
                                          projects=s.projects(sid))  # fmt: skip
                else:
                    overall = s.overall(sid)
        folder = Path(tempfile.mkdtemp(prefix="perfxl-template-"))
        which = "（已接收内容）" if filled else ""
        name = f"{entry.code}-{entry.name}-{settings.year}年{FORM_TITLES[form]}{which}.xlsx"
        target = folder / "template.xlsx"
        options = TemplateOptions(year=settings.year)
        if form == "project":
            write_template(target, settings.spec, settings.codeset, dept, options, project)
        else:
            write_overall_template(target, settings.overall_spec, settings.overall_codeset,
                                   dept, options, overall)  # fmt: skip
        return download(target, name, folder)

    async def upload(self, request: Request) -> Response:
        """A file handed in: saved, then read, checked and recorded as this department's
        (one at a time per department), and its verdict shown; or refused, saying why."""
        entry = await self.guarded(request)
        if isinstance(entry, Response):
            return entry
        site, client = self.site, client_of(request)
        back = f"/d/{request.path_params['token']}"
        if site.throttle.blocked(sender(entry)):
            return message("请稍后再试", "被拒收的上传过多，请五分钟后再试。", 429, back)
        received = await self._received(request, entry, client, back)
        if isinstance(received, Response):
            return received
        data, original = received
        try:
            path, digest = await run_in_threadpool(self._saved, data, entry.code)
        except QuotaReached as exc:
            return await site.refuse(entry, client, str(exc), back, 429)
        except PerfxlError as exc:
            return await site.refuse(entry, client, str(exc), back, 415)
        before = await run_in_threadpool(self._by_bytes, digest, entry.code)
        if before is not None:  # the same file again: its verdict, as it was
            await run_in_threadpool(site.logged, "verdict", "与已提交的文件相同", entry.code,
                                    client, before)  # fmt: skip
            return RedirectResponse(f"{back}/s/{before}?again=1", status_code=303)
        async with site.locks[entry.code]:  # one at a time per department
            await run_in_threadpool(
                site.logged, "upload", f"收到“{original}”（{len(data):,} 字节），存为 {path.name}",
                entry.code, client,
            )  # fmt: skip
            try:
                event = await run_in_threadpool(site.uploads.record, path, entry)
            except Exception as exc:  # the ledger or perfxl itself, never the file
                log.exception("upload of %s failed", path)
                await run_in_threadpool(site.logged, "failed", repr(exc), entry.code, client)
                return message("处理失败", "服务器未能记录这份文件，请稍后再试或联系财政部门。",
                               500, back)  # fmt: skip
        sid = event.submission_id or await run_in_threadpool(self._by_bytes, digest, entry.code)
        detail = (
            f"{STATUS_TEXT.get(event.outcome, event.outcome)}（错误 {event.errors}，"
            f"提示 {event.warnings}）" if event.outcome != "duplicate" else "与已提交的文件相同"
        )  # fmt: skip
        await run_in_threadpool(site.logged, "verdict", detail, entry.code, client, sid)
        if sid is None:
            return message("文件已提交过", "这份文件与已提交的文件完全相同。", 200, back)
        again = "?again=1" if event.outcome == "duplicate" else ""
        return RedirectResponse(f"{back}/s/{sid}{again}", status_code=303)

    async def _received(
        self, request: Request, entry: RosterEntry, client: str, back: str
    ) -> tuple[bytes, str] | Response:
        """The file an upload form sent and the name the browser gave it; or the refusal
        (too large, a forged or expired form, no file, an empty one)."""
        settings, refuse = self.site.settings, self.site.refuse
        limit = settings.max_mb * 1024 * 1024
        too_large = f"文件超过 {settings.max_mb} MB"
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit + 64 * 1024:
            return await refuse(entry, client, too_large, back, 413)
        token = request.path_params["token"]
        async with request.form(max_files=1, max_fields=4) as form:
            if not form_ok(self.site.key, access.token_hash(token), form_text(form.get("csrf"))):
                return await refuse(entry, client, "页面已过期，请刷新后重新上传", back, 403)
            sent = form.get("file")
            if sent is None or isinstance(sent, str):
                return await refuse(entry, client, "没有选择文件", back, 400)
            data = await sent.read(limit + 1)
            original = sent.filename or ""
        if len(data) > limit:
            return await refuse(entry, client, too_large, back, 413)
        if not data:
            return await refuse(entry, client, "文件是空的", back, 400)
        return data, original

    def _saved(self, data: bytes, code: str) -> tuple[Path, str]:
        """The upload kept under perfxl's name for it (refused if it is not a workbook), and
        its SHA-256, computed here once, off the event loop."""
        digest = hashlib.sha256(data).hexdigest()
        return self.site.uploads.save(data, code, digest), digest

    def _by_bytes(self, digest: str, code: str) -> int | None:
        """This department's submission of the same bytes (`digest`), handed in before (by
        itself, or by another department first: its own copy is known by its bytes and
        code)."""
        with self.site.store() as s:
            for known in (digest, owned_digest(digest, code)):
                found = s.by_sha256(known)
                if found is not None and found.department_code == code:
                    return found.id
        return None

    async def verdict(self, request: Request) -> Response:
        """A submission's verdict, if it is this department's."""
        entry = await self.guarded(request)
        if isinstance(entry, Response):
            return entry
        back = f"/d/{request.path_params['token']}"
        return await run_in_threadpool(
            self.verdict_page, request, entry, request.path_params["sid"], back
        )

    def verdict_page(self, request: Request, entry: RosterEntry, sid: int, back: str) -> Response:
        """The verdict on submission `sid` of `entry`'s (404 if it is another's): its issues
        at their sheet and cell, and what it changed; `back` leads to the page before."""
        with self.site.store() as s:
            chosen = s.submission(sid)
            if chosen is None or chosen.department_code != entry.code:
                return message("没有这份提交", "找不到这份提交。", 404, back)
            issues = s.issues(sid)
            changes = [change_text(c) for c in s.changes(sid)]
        accepted = chosen.status in ("accepted", "superseded") and chosen.errors == 0
        summary = f"共发现 {chosen.errors} 个错误、{chosen.warnings} 个提示。" + (
            "文件已记入台账。" if accepted else "请按下列说明修改后重新上传。"
        )
        notice = (
            "这份文件与之前提交的完全相同，结果如前。" if request.query_params.get("again") else ""
        )
        if chosen.status == "superseded":
            notice = "这份提交已被之后收到的文件替代。"
        css, said = _verdict(chosen)
        return render(
            "verdict.html", name=entry.name, year=self.site.settings.year, id=sid, base=back,
            back=back, status=css, status_text=said.split("，")[0], summary=summary,
            notice=notice, time=shown_time(chosen.received_at),
            form=FORMS.get(chosen.form, chosen.form), file=chosen.file_name,
            annotated=_annotatable(chosen),
            issues=[{**i.model_dump(), "level": SEVERITY_TEXT.get(i.severity, i.severity)}
                    for i in issues],
            changes=changes,
        )  # fmt: skip

    async def annotated(self, request: Request) -> Response:
        """The annotated copy of a submission, if it is this department's."""
        entry = await self.guarded(request)
        if isinstance(entry, Response):
            return entry
        return await run_in_threadpool(self.annotated_copy, request.path_params["sid"], entry.code)

    def annotated_copy(self, sid: int, code: str | None) -> Response:
        """The annotated copy of a submission read cleanly (of department `code`'s; None:
        anyone's), made in a worker process (the file came from outside: it is opened under
        the workers' memory cap, never here)."""
        with self.site.store() as s:
            chosen = s.submission(sid)
            if chosen is None or (code is not None and chosen.department_code != code):
                return message("没有这份提交", "找不到这份提交。", 404)
            if not _annotatable(chosen):
                return message("没有标注副本", "这份文件无法读取，没有标注副本。", 404)
            issues = s.issues(sid)
            overall = s.overall(sid) if chosen.form == "department" else None
            rows = data_rows(s.projects(sid), overall) if chosen.kind == "template" else None
        source = Path(chosen.file_path)
        folder = Path(tempfile.mkdtemp(prefix="perfxl-annotated-"))
        try:
            written = self.site.uploads.annotate(source, issues, folder, rows)
        except PerfxlError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return message("没有标注副本", str(exc), 500)
        name = f"{chosen.department_code}-{chosen.department_name}-标注副本-{sid}{source.suffix}"
        return download(written, name, folder)


def _chosen(mine: list[Submission], form: str) -> Submission | None:
    """The submission of a form that stands: the accepted one, else the latest."""
    of_form = [x for x in mine if x.form == form]
    accepted = [x for x in of_form if x.status == "accepted"]
    chosen = accepted or of_form
    return chosen[-1] if chosen else None


def _annotatable(x: Submission) -> bool:
    """Has a submission an annotated copy: a workbook the reader read, still on disk?"""
    path = Path(x.file_path)
    return x.kind is not None and path.suffix.lower() in (".xlsx", ".xlsm") and path.is_file()


def _verdict(x: Submission) -> tuple[str, str]:
    """How a submission was judged, as a page shows it: (its style, its words); one
    superseded since says so after its verdict."""
    judged = "rejected" if x.errors or x.status == "rejected" else "accepted"
    said = STATUS_TEXT[judged]
    return judged, said + ("，已被替代" if x.status == "superseded" else "")


def _detail(chosen: Submission | None) -> str:
    """A form's line on the department's page: when its file came and what was found in it."""
    if chosen is None:
        return "尚未提交"
    received = shown_time(chosen.received_at)
    return f"{received} 收到；错误 {chosen.errors} 个，提示 {chosen.warnings} 个"
