"""The commands of the web page: `links` (each department's own link, for a mail merge)
and `serve` (the page itself)."""

from __future__ import annotations

import csv
import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from perfxl.checks.config import load_config
from perfxl.cli.app import (
    CodesetOption,
    Command,
    ConfigOption,
    JobsOption,
    LedgerOption,
    OverallSpecOption,
    RosterOption,
    SpecOption,
    YearCallback,
    app,
    err,
    fail,
    new_ledger,
    next_year,
    out,
    output_file,
)
from perfxl.domain.codesets import DEFAULT_CODESET, load_codeset
from perfxl.errors import InputError, PerfxlError
from perfxl.formats.overall_spec import DEFAULT_OVERALL_SPEC, load_overall_spec
from perfxl.formats.roster import RosterEntry, read_roster
from perfxl.formats.spec import DEFAULT_SPEC, load_spec
from perfxl.ledger import access
from perfxl.ledger.database import Location
from perfxl.ledger.store import Store

YearOption = Annotated[
    int | None,
    typer.Option("--year", help="预算年度。", callback=YearCallback, show_default="明年"),
]
BaseUrlOption = Annotated[
    str, typer.Option("--base-url", help="各单位打开页面的地址（链接的前半部分）。")
]
FORMS = {"project": ("project",), "department": ("department",), "both": ("project", "department")}


def _roster(store: Store, roster: Path | None, year: int) -> list[RosterEntry]:
    """The roster given (remembered for the year), else the one remembered."""
    if roster is not None:
        entries = read_roster(roster)
        store.save_roster(entries, year)
        return entries
    remembered = store.roster(year)
    if not remembered:
        raise InputError(f"台账中没有 {year} 年度的单位名单：请用 --roster 给出")
    return remembered


def _uploads_beside(location: Location) -> Path:
    """Where uploads are kept by default: beside a ledger file; a shared ledger's server
    must be told (--uploads)."""
    if isinstance(location, Path):
        return location.with_name(f"{location.stem}-uploads")
    raise InputError("台账在 PostgreSQL 上时请用 --uploads 指定保存上传文件的目录")


@app.command("links", cls=Command)
def links_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="写出链接的 CSV 文件。")],
    ledger: LedgerOption = "ledger.db",
    roster: RosterOption = None,
    year: YearOption = None,
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    rotate: Annotated[
        bool, typer.Option("--rotate", help="为每个单位换新链接，旧链接随即失效。")
    ] = False,
) -> None:
    """为名单中的每个单位生成专属链接，写成 CSV（可用于邮件合并）。

    Make each roster department its own link to the web page, written as CSV for a mail
    merge. Only the links' hashes are kept in the ledger: a department that already has a
    link keeps it and is listed without one (use --rotate to replace every link).
    """
    output_file(output)
    year = year or next_year()
    try:
        with Store(new_ledger(ledger)) as store:
            made = access.make_links(store, _roster(store, roster, year), year, rotate)
    except PerfxlError as exc:
        raise fail(exc) from exc
    output.touch(mode=0o600)  # the links open the departments' pages: for the office only
    output.chmod(0o600)
    with output.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["单位编码", "单位名称", "联系人", "链接"])
        for link in made:
            address = (
                f"{base_url.rstrip('/')}/d/{link.token}" if link.token else "（沿用已发的链接）"
            )
            writer.writerow([link.entry.code, link.entry.name, link.entry.contact or "", address])
    fresh = sum(1 for link in made if link.token)
    out.print(
        f"已写出 {escape(str(output))}：{fresh} 个新链接"
        + (f"，{len(made) - fresh} 个单位沿用已发的链接" if len(made) > fresh else "")
    )


@app.command("serve", cls=Command)
def serve_command(
    ledger: LedgerOption = "ledger.db",
    roster: RosterOption = None,
    year: YearOption = None,
    host: Annotated[str, typer.Option("--host", help="监听的地址。")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="监听的端口。")] = 8000,
    uploads: Annotated[
        Path | None,
        typer.Option("--uploads", help="保存上传文件的目录（默认在台账旁）。"),
    ] = None,
    form: Annotated[
        str, typer.Option("--form", help="各单位应交的表：project、department 或 both。")
    ] = "both",
    max_mb: Annotated[int, typer.Option("--max-mb", help="上传文件的大小上限（MB）。")] = 20,
    max_uploads: Annotated[
        int, typer.Option("--max-uploads", help="每个单位最多保存的上传文件数。")
    ] = 200,
    set_admin: Annotated[
        bool, typer.Option("--set-admin", help="设置财政部门的登录口令后退出。")
    ] = False,
    jobs: JobsOption = 0,
    config: ConfigOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    overall_spec: OverallSpecOption = DEFAULT_OVERALL_SPEC,
    codeset: CodesetOption = DEFAULT_CODESET,
) -> None:
    """启动填报网页：各单位凭专属链接下载模板、上传文件并当场看到校验结果；财政部门在 /admin 查看。

    Serve the web page: each department opens its own link (see `perfxl links`), downloads
    its template, uploads the filled file and sees the verdict at once; the office signs in
    at /admin (the token in PERFXL_ADMIN_TOKEN, or a password set with --set-admin).
    """
    from perfxl.web.app import ServeSettings, admin_token_from_environment, create_app

    year = year or next_year()
    location = new_ledger(ledger)
    if form not in FORMS:
        raise fail(InputError(f"未知的表别“{form}”：可用 project、department、both"))
    try:
        with Store(location) as store:
            if set_admin:
                password = getpass.getpass("财政部门登录口令：")
                if len(password) < 8 or password != getpass.getpass("再输入一次："):
                    raise InputError("口令至少 8 个字符，两次输入须相同")
                access.set_password(store, password)
                out.print("已设置登录口令。")
                return
            _roster(store, roster, year)
        the_overall = load_overall_spec(overall_spec)
        settings = ServeSettings(
            ledger=location,
            year=year,
            uploads=(uploads or _uploads_beside(location)).resolve(),
            config=load_config(config),
            spec=load_spec(spec),
            codeset=load_codeset(codeset),
            overall_spec=the_overall,
            overall_codeset=load_codeset(the_overall.codeset),
            forms=FORMS[form],
            max_mb=max_mb,
            max_uploads=max_uploads,
            admin_token=admin_token_from_environment(),
            jobs=jobs or None,
        )
        application = create_app(settings)
    except PerfxlError as exc:
        raise fail(exc) from exc
    import uvicorn

    err.print(f"填报网页：http://{host}:{port}/  （财政部门：/admin；按 Ctrl-C 停止）")
    # No access log: a department's address holds its link. perfxl logs each upload,
    # verdict and refusal itself (the ledger's events), by department.
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)
