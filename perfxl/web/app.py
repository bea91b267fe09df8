"""The web page (`perfxl serve`): each department hands in its own file by its own link
and reads the verdict at once; the office sees the roster board and downloads the ledger.

A department's page is reached only by its link (/d/<token>), and shows only that
department. An upload is capped in size, recognised by its content, saved under a name
of perfxl's, and read, checked and recorded exactly as `collect` records an inbox's
files (ledger/uploads.py): one at a time per department, departments side by side. Every
upload, verdict and refusal is logged in the ledger with its time and department. Forms
carry a signed token; repeated failures from one client are refused for a while."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from perfxl.checks.config import Config
from perfxl.checks.validate import data_rows
from perfxl.cli.render import change_text
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Department
from perfxl.errors import PerfxlError
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.overall_writer import write_overall_template
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_writer import TemplateOptions, write_template
from perfxl.ledger import access
from perfxl.ledger.collect import owned_digest
from perfxl.ledger.database import Location
from perfxl.ledger.details import FORMS, SEVERITY_TEXT, local_text, local_time
from perfxl.ledger.exports import write_details
from perfxl.ledger.queries import Submission
from perfxl.ledger.status import STATUS_TEXT, department_status
from perfxl.ledger.store import Store
from perfxl.ledger.uploads import Uploads
from perfxl.ledger.workbook import write_ledger
from perfxl.web.guard import (
    BodyLimit,
    BodyTooLarge,
    Throttle,
    form_ok,
    form_token,
    session_cookie,
    session_ok,
)

log = logging.getLogger("perfxl.web")
ADMIN_COOKIE = "perfxl_admin"
FORM_TITLES = {"project": "项目支出绩效目标表", "department": "部门整体支出绩效目标表"}


@dataclass
class ServeSettings:
    """What the server serves: which ledger and year, which forms each department owes,
    where uploads are kept, and how they are read."""

    ledger: Location
    year: int
    uploads: Path
    config: Config
    spec: TemplateSpec
    codeset: CodeSet
    overall_spec: OverallSpec
    overall_codeset: CodeSet
    forms: tuple[str, ...] = ("project", "department")
    max_mb: int = 20
    admin_token: str | None = None
    jobs: int | None = None
    read_codeset: CodeSet | None = None  # None: each file's own, as collect does


@dataclass
class _State:
    settings: ServeSettings
    uploads: Uploads
    key: bytes
    throttle: Throttle = field(default_factory=Throttle)
    locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))


_pages = Environment(
    loader=PackageLoader("perfxl.web", "templates"), autoescape=select_autoescape(["html"])
)


def _page(page: str, http_status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(_pages.get_template(page).render(**values), status_code=http_status)


def _message(title: str, message: str, status: int, back: str | None = None) -> HTMLResponse:
    return _page("message.html", status, title=title, message=message, back=back)


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _time(text: str | None) -> str:
    return local_text(local_time(text)) or ""


def create_app(settings: ServeSettings) -> Starlette:
    """The application, its uploads' worker processes started on first use."""
    with Store(settings.ledger) as opened:
        key = access.signing_key(opened)
    uploads = Uploads(
        settings.ledger, settings.uploads, settings.config, settings.spec,
        settings.read_codeset, settings.overall_spec, settings.year, settings.jobs,
    )  # fmt: skip
    state = _State(settings, uploads, key)

    kept = threading.local()

    def store() -> contextlib.AbstractContextManager[Store]:
        """This thread's connection to the ledger, opened once and kept (opening one, with
        its schema check, cost more than most requests' queries: on PostgreSQL a third of
        each upload's time in bench/serve.py)."""
        held: Store | None = getattr(kept, "store", None)
        if held is None or not held.alive():
            if held is not None:
                with contextlib.suppress(Exception):
                    held.close()
            held = kept.store = Store(settings.ledger)
        return contextlib.nullcontext(held)

    def roster() -> list[RosterEntry]:
        with store() as s:
            return s.roster(settings.year) or []

    async def guarded(request: Request) -> tuple[int, RosterEntry] | Response:
        """The department a link opens, or the refusal."""
        client = _client(request)
        if state.throttle.blocked(client):
            return _message("请稍后再试", "失败的尝试过多，请五分钟后再试。", 429)
        entry = await run_in_threadpool(opens, request.path_params["token"])
        if entry is None:
            state.throttle.failed(client)
            await run_in_threadpool(_logged, "refused", "无效的链接", None, client)
            return _message("链接无效", "此链接无效或已停用：请使用财政部门最新发来的链接。", 404)
        return settings.year, entry

    def opens(token: str) -> RosterEntry | None:
        """The roster department of this year a link's token opens."""
        with store() as s:
            found = access.department_of(s, token)
        if found is None or found[0] != settings.year:
            return None
        return next((e for e in roster() if e.code == found[1]), None)

    def department_page(request: Request, entry: RosterEntry) -> HTMLResponse:
        token = request.path_params["token"]
        with store() as s:
            report = department_status(s, [entry], settings.year)  # this one's only
            mine = [x for x in s.submissions(settings.year) if x.department_code == entry.code]
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
                          "detail": _detail(chosen)})  # fmt: skip
        history = [
            {"id": x.id, "time": _time(x.received_at), "form": FORMS.get(x.form, x.form),
             "status": _verdict(x)[0], "status_text": _verdict(x)[1],
             "errors": x.errors, "warnings": x.warnings}
            for x in sorted(mine, key=lambda x: x.id, reverse=True)
        ]  # fmt: skip
        return _page(
            "department.html", name=entry.name, code=entry.code, year=settings.year,
            forms=forms, history=history, base=f"/d/{token}", max_mb=settings.max_mb,
            csrf=form_token(state.key, access.token_hash(token)),
        )  # fmt: skip

    async def department(request: Request) -> Response:
        found = await guarded(request)
        if isinstance(found, Response):
            return found
        return await run_in_threadpool(department_page, request, found[1])

    async def template(request: Request) -> Response:
        found = await guarded(request)
        if isinstance(found, Response):
            return found
        entry, form = found[1], request.path_params["form"]
        if form not in settings.forms:
            return _message("没有这种模板", "请从页面上的按钮下载模板。", 404)
        folder = Path(tempfile.mkdtemp(prefix="perfxl-template-"))
        name = f"{entry.code}-{entry.name}-{settings.year}年{FORM_TITLES[form]}.xlsx"
        target = folder / "template.xlsx"
        options = TemplateOptions(year=settings.year)
        dept = Department(code=entry.code, name=entry.name)
        if form == "project":
            await run_in_threadpool(
                write_template, target, settings.spec, settings.codeset, dept, options
            )
        else:
            await run_in_threadpool(
                write_overall_template, target, settings.overall_spec,
                settings.overall_codeset, dept, options,
            )  # fmt: skip
        return _download(target, name, folder)

    async def upload(request: Request) -> Response:
        found = await guarded(request)
        if isinstance(found, Response):
            return found
        entry, token, client = found[1], request.path_params["token"], _client(request)
        back = f"/d/{token}"
        if state.throttle.blocked(_sender(entry)):
            return _message("请稍后再试", "被拒收的上传过多，请五分钟后再试。", 429, back)
        limit = settings.max_mb * 1024 * 1024
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit + 64 * 1024:
            return await _refuse(entry, client, f"文件超过 {settings.max_mb} MB", back, 413)
        async with request.form(max_files=1, max_fields=4) as form:
            if not form_ok(state.key, access.token_hash(token), _text(form.get("csrf"))):
                return await _refuse(entry, client, "页面已过期，请刷新后重新上传", back, 403)
            sent = form.get("file")
            if sent is None or isinstance(sent, str):
                return await _refuse(entry, client, "没有选择文件", back, 400)
            data = await sent.read(limit + 1)
            original = sent.filename or ""
        if len(data) > limit:
            return await _refuse(entry, client, f"文件超过 {settings.max_mb} MB", back, 413)
        if not data:
            return await _refuse(entry, client, "文件是空的", back, 400)
        try:
            path = await run_in_threadpool(state.uploads.save, data, entry.code)
        except PerfxlError as exc:
            return await _refuse(entry, client, str(exc), back, 415)
        before = await run_in_threadpool(_by_bytes, path, entry.code)
        if before is not None:  # the same file again: its verdict, as it was
            await run_in_threadpool(_logged, "verdict", "与已提交的文件相同", entry.code, client,
                                    before)  # fmt: skip
            return RedirectResponse(f"{back}/s/{before}?again=1", status_code=303)
        async with state.locks[entry.code]:  # one at a time per department
            await run_in_threadpool(
                _logged, "upload", f"收到“{original}”（{len(data):,} 字节），存为 {path.name}",
                entry.code, client,
            )  # fmt: skip
            try:
                event = await run_in_threadpool(state.uploads.record, path, entry)
            except Exception as exc:  # the ledger or perfxl itself, never the file
                log.exception("upload of %s failed", path)
                await run_in_threadpool(_logged, "failed", repr(exc), entry.code, client)
                return _message("处理失败", "服务器未能记录这份文件，请稍后再试或联系财政部门。",
                                500, back)  # fmt: skip
        sid = event.submission_id or await run_in_threadpool(_by_bytes, path, entry.code)
        detail = (
            f"{STATUS_TEXT.get(event.outcome, event.outcome)}（错误 {event.errors}，"
            f"提示 {event.warnings}）" if event.outcome != "duplicate" else "与已提交的文件相同"
        )  # fmt: skip
        await run_in_threadpool(_logged, "verdict", detail, entry.code, client, sid)
        if sid is None:
            return _message("文件已提交过", "这份文件与已提交的文件完全相同。", 200, back)
        again = "?again=1" if event.outcome == "duplicate" else ""
        return RedirectResponse(f"{back}/s/{sid}{again}", status_code=303)

    def _logged(
        kind: str, detail: str, code: str | None, client: str, sid: int | None = None
    ) -> None:
        log.info("%s %s %s: %s", kind, code or "-", client, detail)
        with store() as s:
            access.log(s, kind, detail, settings.year, code, client, sid)

    async def _refuse(
        entry: RosterEntry, client: str, why: str, back: str, status: int
    ) -> HTMLResponse:
        # A refusal counts against the department's link, not the client's address (many
        # departments may reach the server from one address).
        state.throttle.failed(_sender(entry))
        await run_in_threadpool(_logged, "refused", why, entry.code, client)
        return _message("未能接收", why, status, back)

    def _by_bytes(path: Path, code: str) -> int | None:
        """This department's submission of the same bytes, handed in before (by itself,
        or by another department first: its own copy is known by its bytes and code)."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with store() as s:
            for known in (digest, owned_digest(digest, code)):
                found = s.by_sha256(known)
                if found is not None and found.department_code == code:
                    return found.id
        return None

    def verdict_page(request: Request, entry: RosterEntry, sid: int, back: str) -> Response:
        with store() as s:
            chosen = s.submission(sid)
            if chosen is None or chosen.department_code != entry.code:
                return _message("没有这份提交", "找不到这份提交。", 404, back)
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
        return _page(
            "verdict.html", name=entry.name, year=settings.year, id=sid, base=back,
            back=back, status=css, status_text=said.split("，")[0], summary=summary,
            notice=notice, time=_time(chosen.received_at),
            form=FORMS.get(chosen.form, chosen.form), file=chosen.file_name,
            annotated=_annotatable(chosen),
            issues=[{**i.model_dump(), "level": SEVERITY_TEXT.get(i.severity, i.severity)}
                    for i in issues],
            changes=changes,
        )  # fmt: skip

    async def verdict(request: Request) -> Response:
        found = await guarded(request)
        if isinstance(found, Response):
            return found
        token = request.path_params["token"]
        return await run_in_threadpool(
            verdict_page, request, found[1], request.path_params["sid"], f"/d/{token}"
        )

    def annotated_copy(sid: int, code: str | None) -> Response:
        """The annotated copy of a submission read cleanly, made in a worker process (the
        file came from outside: it is opened under the workers' memory cap, never here)."""
        with store() as s:
            chosen = s.submission(sid)
            if chosen is None or (code is not None and chosen.department_code != code):
                return _message("没有这份提交", "找不到这份提交。", 404)
            if not _annotatable(chosen):
                return _message("没有标注副本", "这份文件无法读取，没有标注副本。", 404)
            issues = s.issues(sid)
            overall = s.overall(sid) if chosen.form == "department" else None
            rows = data_rows(s.projects(sid), overall) if chosen.kind == "template" else None
        source = Path(chosen.file_path)
        folder = Path(tempfile.mkdtemp(prefix="perfxl-annotated-"))
        try:
            written = uploads.annotate(source, issues, folder, rows)
        except PerfxlError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return _message("没有标注副本", str(exc), 500)
        name = f"{chosen.department_code}-{chosen.department_name}-标注副本-{sid}{source.suffix}"
        return _download(written, name, folder)

    async def department_annotated(request: Request) -> Response:
        found = await guarded(request)
        if isinstance(found, Response):
            return found
        return await run_in_threadpool(annotated_copy, request.path_params["sid"], found[1].code)

    # --- the office ----------------------------------------------------------------------

    def credentials() -> str:
        """A fingerprint of the office's credentials as they are now (its token and the
        password's hash): sessions are signed with it, so changing either ends them."""
        with store() as s:
            password = access.secret(s, "admin_password") or ""
        given = f"{settings.admin_token or ''}\0{password}"
        return hashlib.sha256(given.encode()).hexdigest()

    async def admin_ok(request: Request) -> bool:
        cookie = request.cookies.get(ADMIN_COOKIE)
        if not cookie:
            return False
        return session_ok(state.key, await run_in_threadpool(credentials), cookie)

    async def admin(request: Request) -> Response:
        if not await admin_ok(request):
            return _page("login.html", csrf=form_token(state.key, "login"),
                         failed=bool(request.query_params.get("failed")))  # fmt: skip
        return await run_in_threadpool(board)

    async def login(request: Request) -> Response:
        client = _client(request)
        if state.throttle.blocked(client):
            return _message("请稍后再试", "失败的尝试过多，请五分钟后再试。", 429)
        async with request.form(max_files=0, max_fields=4) as form:
            csrf, password = _text(form.get("csrf")), _text(form.get("password")) or ""
        ok = form_ok(state.key, "login", csrf) and await run_in_threadpool(_password_ok, password)
        await run_in_threadpool(_logged, "login", "登录" if ok else "口令不对", None, client)
        if not ok:
            state.throttle.failed(client)
            return RedirectResponse("/admin?failed=1", status_code=303)
        response = RedirectResponse("/admin", status_code=303)
        signed = session_cookie(state.key, await run_in_threadpool(credentials))
        response.set_cookie(ADMIN_COOKIE, signed, httponly=True,
                            secure=request.url.scheme == "https",
                            samesite="strict", path="/admin")  # fmt: skip
        return response

    def _password_ok(password: str) -> bool:
        import hmac

        given, token = password.encode(), (settings.admin_token or "").encode()
        if token and hmac.compare_digest(given, token):
            return True
        with store() as s:
            return access.password_ok(s, password)

    async def logout(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=2) as form:
            if not form_ok(state.key, "admin", _text(form.get("csrf"))):
                return _message("页面已过期", "请刷新后再试。", 403, "/admin")
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    def board() -> HTMLResponse:
        entries = roster()
        with store() as s:
            report = department_status(s, entries, settings.year)
            everything = s.submissions(settings.year)
            recent = access.events(s, limit=50)
        last: dict[str, str] = {}
        for x in everything:
            if x.department_code:
                last[x.department_code] = max(last.get(x.department_code, ""), x.received_at)
        contacts = {e.code: e.contact for e in entries}
        rows, missing = [], []
        counts = {f: {"accepted": 0, "rejected": 0, "missing": 0} for f in settings.forms}
        for d in report.departments:
            cells, owed = [], []
            for form in settings.forms:
                if form == "project":
                    code, chosen = d.status, d.submission
                else:
                    code = d.overall.status if d.overall else "missing"
                    chosen = d.overall.submission if d.overall else None
                counts[form][code if code in counts[form] else "missing"] += 1
                cells.append({"status": code, "id": chosen.id if chosen else None,
                              "text": STATUS_TEXT.get(code, code)})  # fmt: skip
                if code != "accepted":
                    owed.append(FORM_TITLES[form])
            rows.append({"code": d.code, "name": d.name, "forms": cells,
                         "last": _time(last.get(d.code)),
                         "contact": contacts.get(d.code)})  # fmt: skip
            if owed:
                missing.append({"code": d.code, "name": d.name, "owed": "、".join(owed),
                                "contact": contacts.get(d.code)})  # fmt: skip
        return _page(
            "admin.html", year=settings.year, departments=rows, missing=missing,
            counts=[{"key": f, "title": FORM_TITLES[f], **counts[f]} for f in settings.forms],
            log=[{"time": _time(e["at"]), "department": e["department_code"],
                  "kind": EVENT_TEXT.get(e["kind"], e["kind"]), "detail": e["detail"]}
                 for e in recent],
            csrf=form_token(state.key, "admin"),
        )  # fmt: skip

    async def admin_submission(request: Request) -> Response:
        if not await admin_ok(request):
            return RedirectResponse("/admin", status_code=303)
        sid = request.path_params["sid"]

        def page() -> Response:
            with store() as s:
                chosen = s.submission(sid)
            if chosen is None or chosen.department_code is None:
                return _message("没有这份提交", "找不到这份提交。", 404, "/admin")
            entry = RosterEntry(code=chosen.department_code, name=chosen.department_name or "")
            response = verdict_page(request, entry, sid, "/admin")
            return response

        return await run_in_threadpool(page)

    async def admin_annotated(request: Request) -> Response:
        if not await admin_ok(request):
            return RedirectResponse("/admin", status_code=303)
        return await run_in_threadpool(annotated_copy, request.path_params["sid"], None)

    async def ledger_workbook(request: Request) -> Response:
        if not await admin_ok(request):
            return RedirectResponse("/admin", status_code=303)

        def write() -> Response:
            folder = Path(tempfile.mkdtemp(prefix="perfxl-ledger-"))
            target = folder / "ledger.xlsx"
            with store() as s:
                write_ledger(s, target, settings.codeset, roster(), settings.year)
            return _download(target, f"{settings.year}年预算绩效目标汇总台账.xlsx", folder)

        return await run_in_threadpool(write)

    async def export(request: Request) -> Response:
        if not await admin_ok(request):
            return RedirectResponse("/admin", status_code=303)

        def write() -> Response:
            folder = Path(tempfile.mkdtemp(prefix="perfxl-export-"))
            with store() as s:
                written = write_details(s, folder / "csv", "csv", settings.year)
            target = folder / "export.zip"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in written:
                    archive.write(path, path.name)
            return _download(target, f"{settings.year}年预算绩效目标明细表.zip", folder)

        return await run_in_threadpool(write)

    async def reminders(request: Request) -> Response:
        if not await admin_ok(request):
            return RedirectResponse("/admin", status_code=303)

        def write() -> Response:
            entries = roster()
            with store() as s:
                report = department_status(s, entries, settings.year)
            contacts = {e.code: e.contact for e in entries}
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(["单位编码", "单位名称", "项目支出", "部门整体", "联系人"])
            for d in report.departments:
                overall = d.overall.status if d.overall else "missing"
                if d.status != "accepted" or ("department" in settings.forms
                                              and overall != "accepted"):  # fmt: skip
                    writer.writerow([d.code, d.name, STATUS_TEXT.get(d.status, d.status),
                                     STATUS_TEXT.get(overall, overall),
                                     contacts.get(d.code)])  # fmt: skip
            return Response(
                "\ufeff" + text.getvalue(), media_type="text/csv; charset=utf-8",
                headers=_attachment(f"{settings.year}年催报名单.csv"),
            )  # fmt: skip

        return await run_in_threadpool(write)

    async def home(request: Request) -> Response:
        return _message(
            "预算绩效目标填报",
            "请使用财政部门发给本单位的专属链接。财政部门请由 /admin 登录。",
            200,
        )

    routes = [
        Route("/", home),
        Route("/d/{token}", department),
        Route("/d/{token}/template/{form}", template),
        Route("/d/{token}/upload", upload, methods=["POST"]),
        Route("/d/{token}/s/{sid:int}", verdict),
        Route("/d/{token}/s/{sid:int}/annotated", department_annotated),
        Route("/admin", admin),
        Route("/admin/login", login, methods=["POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
        Route("/admin/s/{sid:int}", admin_submission),
        Route("/admin/s/{sid:int}/annotated", admin_annotated),
        Route("/admin/ledger.xlsx", ledger_workbook),
        Route("/admin/export.zip", export),
        Route("/admin/reminders.csv", reminders),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(uploads.close)

    async def failed(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _message("服务器出错", "服务器未能完成这个请求，请稍后再试或联系财政部门。", 500)

    async def too_large(request: Request, exc: Exception) -> Response:
        state.throttle.failed(_client(request))
        back = request.url.path.removesuffix("/upload")
        return _message("未能接收", f"文件超过 {settings.max_mb} MB", 413, back)

    handlers = {BodyTooLarge: too_large, Exception: failed}
    limit = settings.max_mb * 1024 * 1024 + 64 * 1024  # the file, and the form around it
    middleware = [Middleware(BodyLimit, limit=limit), Middleware(PrivateHeaders)]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers=handlers, middleware=middleware
    )


class PrivateHeaders:
    """Headers on every answer: a page's address (a department's link) is never sent on to
    another site, nor kept in a cache; no page is framed or sniffed for another type."""

    HEADERS = (
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
    )

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


EVENT_TEXT = {"upload": "上传", "verdict": "结果", "refused": "拒收", "login": "登录",
              "failed": "处理失败"}  # fmt: skip


def _chosen(mine: list[Submission], form: str) -> Submission | None:
    """The submission of a form that stands: the accepted one, else the latest."""
    of_form = [x for x in mine if x.form == form]
    accepted = [x for x in of_form if x.status == "accepted"]
    chosen = accepted or of_form
    return chosen[-1] if chosen else None


def _sender(entry: RosterEntry) -> str:
    """The throttle's key for a department's uploads."""
    return f"department:{entry.code}"


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
    if chosen is None:
        return "尚未提交"
    return f"{_time(chosen.received_at)} 收到；错误 {chosen.errors} 个，提示 {chosen.warnings} 个"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _attachment(name: str) -> dict[str, str]:
    """A download's name, in Chinese where the browser reads RFC 5987, else plain."""
    return {"content-disposition": f"attachment; filename=\"download{Path(name).suffix}\"; "
                                   f"filename*=UTF-8''{quote(name)}"}  # fmt: skip


def _download(path: Path, name: str, folder: Path) -> FileResponse:
    """A file to download, its folder removed once it is sent."""
    return FileResponse(
        path, headers=_attachment(name),
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )  # fmt: skip


def admin_token_from_environment() -> str | None:
    return os.environ.get("PERFXL_ADMIN_TOKEN") or None
