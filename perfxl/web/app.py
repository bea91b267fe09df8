"""The web page (`perfxl serve`): each department hands in its own file by its own link
and reads the verdict at once; the office sees the roster board and downloads the ledger.

A department's page is reached only by its link (/d/<token>), and shows only that
department. An upload is capped in size, recognised by its content, saved under a name
of perfxl's, and read, checked and recorded exactly as `collect` records an inbox's
files (ledger/uploads.py): one at a time per department, departments side by side. Every
upload, verdict and refusal is logged in the ledger with its time and department. Forms
carry a signed token; repeated failures from one client are refused for a while.

This module makes the application: its settings, routes, middleware and error pages. The
pages are the department's (department.py) and the office's (office.py), sharing what
site.py holds."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from perfxl.checks.config import Config
from perfxl.domain.codesets import CodeSet
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.spec import TemplateSpec
from perfxl.ledger.database import Location
from perfxl.web.department import DepartmentPages
from perfxl.web.guard import BodyLimit, BodyTooLarge
from perfxl.web.office import OfficePages
from perfxl.web.site import Site, client_of, log, message


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
    max_uploads: int = 200  # files kept for one department
    admin_token: str | None = None
    jobs: int | None = None
    read_codeset: CodeSet | None = None  # None: each file's own, as collect does


def create_app(settings: ServeSettings) -> Starlette:
    """The application, its uploads' worker processes started on first use."""
    site = Site(settings)
    department = DepartmentPages(site)
    office = OfficePages(site, department)
    routes = [
        Route("/", home),
        Route("/d/{token}", department.page),
        Route("/d/{token}/template/{form}", department.template),
        Route("/d/{token}/upload", department.upload, methods=["POST"]),
        Route("/d/{token}/s/{sid:int}", department.verdict),
        Route("/d/{token}/s/{sid:int}/annotated", department.annotated),
        Route("/admin", office.admin),
        Route("/admin/login", office.login, methods=["POST"]),
        Route("/admin/logout", office.logout, methods=["POST"]),
        Route("/admin/s/{sid:int}", office.submission),
        Route("/admin/s/{sid:int}/annotated", office.annotated),
        Route("/admin/ledger.xlsx", office.ledger),
        Route("/admin/export.zip", office.export),
        Route("/admin/reminders.csv", office.reminders),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(site.uploads.close)

    async def too_large(request: Request, exc: Exception) -> Response:
        """An upload stopped past the cap as it arrived (BodyLimit): counted against the
        client, and said."""
        site.throttle.failed(client_of(request))
        back = request.url.path.removesuffix("/upload")
        return message("未能接收", f"文件超过 {settings.max_mb} MB", 413, back)

    handlers = {BodyTooLarge: too_large, Exception: failed}
    limit = settings.max_mb * 1024 * 1024 + 64 * 1024  # the file, and the form around it
    middleware = [Middleware(BodyLimit, limit=limit), Middleware(PrivateHeaders)]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers=handlers, middleware=middleware
    )


async def home(request: Request) -> Response:
    """The bare address: where to go instead."""
    return message(
        "预算绩效目标填报",
        "请使用财政部门发给本单位的专属链接。财政部门请由 /admin 登录。",
        200,
    )


async def failed(request: Request, exc: Exception) -> Response:
    """Any other error: logged here, and a page that says so (never the error itself)."""
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return message("服务器出错", "服务器未能完成这个请求，请稍后再试或联系财政部门。", 500)


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


def admin_token_from_environment() -> str | None:
    """The office's token, from PERFXL_ADMIN_TOKEN (unset or empty: none)."""
    return os.environ.get("PERFXL_ADMIN_TOKEN") or None
