"""What every page of the web page shares: the server's settings, its uploads, the key its
forms and sessions are signed with, the throttle, one lock per department, each thread's
connection to the ledger and the event log; and the small helpers that answer a request
(a page, a message, a download)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse

from perfxl.formats.roster import RosterEntry
from perfxl.ledger import access
from perfxl.ledger.details import local_text, local_time
from perfxl.ledger.store import Store
from perfxl.ledger.uploads import Uploads
from perfxl.web.guard import Throttle

if TYPE_CHECKING:  # app.py defines the settings and makes the site from them
    from perfxl.web.app import ServeSettings

log = logging.getLogger("perfxl.web")
FORM_TITLES = {"project": "项目支出绩效目标表", "department": "部门整体支出绩效目标表"}


class Site:
    """The state the pages share, made once per application."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        with Store(settings.ledger) as opened:
            self.key = access.signing_key(opened)
        self.uploads = Uploads(
            settings.ledger, settings.uploads, settings.config, settings.spec,
            settings.read_codeset, settings.overall_spec, settings.year, settings.jobs,
            settings.max_uploads,
        )  # fmt: skip
        self.throttle = Throttle()
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._kept = threading.local()

    def store(self) -> contextlib.AbstractContextManager[Store]:
        """This thread's connection to the ledger, opened once and kept (opening one, with
        its schema check, cost more than most requests' queries: on PostgreSQL a third of
        each upload's time in bench/serve.py)."""
        held: Store | None = getattr(self._kept, "store", None)
        if held is None or not held.alive():
            if held is not None:
                with contextlib.suppress(Exception):
                    held.close()
            held = self._kept.store = Store(self.settings.ledger)
        return contextlib.nullcontext(held)

    def roster(self) -> list[RosterEntry]:
        """The roster of the year served (none: an empty one)."""
        with self.store() as s:
            return s.roster(self.settings.year) or []

    def logged(
        self, kind: str, detail: str, code: str | None, client: str, sid: int | None = None
    ) -> None:
        """An event in the server's log and in the ledger's (table `events`)."""
        log.info("%s %s %s: %s", kind, code or "-", client, detail)
        with self.store() as s:
            access.log(s, kind, detail, self.settings.year, code, client, sid)

    async def refuse(
        self, entry: RosterEntry, client: str, why: str, back: str, status: int
    ) -> HTMLResponse:
        """A department's upload refused: logged, counted, and said why."""
        # A refusal counts against the department's link, not the client's address (many
        # departments may reach the server from one address).
        self.throttle.failed(sender(entry))
        await run_in_threadpool(self.logged, "refused", why, entry.code, client)
        return message("未能接收", why, status, back)


def sender(entry: RosterEntry) -> str:
    """The throttle's key for a department's uploads."""
    return f"department:{entry.code}"


_pages = Environment(
    loader=PackageLoader("perfxl.web", "templates"), autoescape=select_autoescape(["html"])
)


def render(template: str, http_status: int = 200, **values: Any) -> HTMLResponse:
    """One of the page templates, filled in."""
    return HTMLResponse(_pages.get_template(template).render(**values), status_code=http_status)


def message(title: str, text: str, status: int, back: str | None = None) -> HTMLResponse:
    """A page that says one thing (a refusal, an error), with a way back."""
    return render("message.html", status, title=title, message=text, back=back)


def client_of(request: Request) -> str:
    """The client's address, as the log and the throttle know it."""
    return request.client.host if request.client else "?"


def shown_time(text: str | None) -> str:
    """A time from the ledger as a page shows it (local time; none: empty)."""
    return local_text(local_time(text)) or ""


def form_text(value: object) -> str | None:
    """A form's field, if it is text (not a file)."""
    return value if isinstance(value, str) else None


def attachment(name: str) -> dict[str, str]:
    """A download's name, in Chinese where the browser reads RFC 5987, else plain."""
    return {"content-disposition": f"attachment; filename=\"download{Path(name).suffix}\"; "
                                   f"filename*=UTF-8''{quote(name)}"}  # fmt: skip


def download(path: Path, name: str, folder: Path) -> FileResponse:
    """A file to download, its folder removed once it is sent."""
    return FileResponse(
        path, headers=attachment(name),
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )  # fmt: skip
