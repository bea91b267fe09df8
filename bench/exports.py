"""Benchmark: `perfxl ledger --format parquet|csv` (ledger/exports.py `write_details`) on a
ledger of N departments (by default 10,000: 400,000 projects, 2,400,000 indicators), each
beside its floor:

- select: the same rows read from SQLite through the store's queries, and nothing else;
- pyarrow: the same Parquet tables (same rows, columns and types, read back from perfxl's
  output before the clock starts) written by pyarrow in row groups of the same size;
- select + csv.writer: the rows of the same queries written as they come by csv.writer.

The first Parquet export of a ledger keeps a column copy of each accepted submission's
rows in it (ledger/columnar.py); "parquet again" is the next export of the same ledger,
from those copies. The ratios are perfxl's first Parquet export against select + pyarrow,
the next one against pyarrow alone, and the CSV against select + csv.writer.

The ledger is written straight into the store (Store.insert_submission, insert_content)
from the bench corpus's department tables (bench/corpus.py: 40 projects and 240
indicators each), without reading workbooks: collecting 10,000 files takes far longer
than the exports. Every tenth department also has an earlier submission, rejected, with
three issues. The ledger is built once and kept (by default under /tmp); each phase then
runs in a fresh process, its libraries imported before its clock starts, --rounds times,
and the medians are shown with the peak memory of each phase.

    python bench/exports.py [--departments 10000] [--rounds 3] [--ledger PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

if TYPE_CHECKING:
    from perfxl.ledger.store import Store

BATCH = 50_000  # rows per row group, as the Parquet export writes them


def default_ledger(departments: int) -> Path:
    return Path(f"/tmp/perfxl-bench-exports-{departments}.db")


def build_ledger(path: Path, departments: int) -> None:
    """A ledger of `departments` accepted submissions (and a rejected one for every tenth
    department), written straight into the store; built once, kept at `path`."""
    from corpus import clean_projects, department_table

    from perfxl.domain.model import Issue
    from perfxl.ledger.store import Store

    if path.exists():
        return
    began = time.perf_counter()
    partial = path.with_suffix(".partial")
    for leftover in partial.parent.glob(partial.name + "*"):
        leftover.unlink()
    pool = clean_projects()
    issues = [
        Issue(code="total-mismatch", severity="error", message="总计不等于各资金来源之和",
              hint="请核对金额", sheet="项目", cell="F5", row=5, value="56.01"),
        Issue(code="goal-too-short", severity="warning", message="绩效目标过短",
              sheet="项目", cell="J5", row=5),
        Issue(code="not-a-template", severity="warning", message="这不是 perfxl 生成的模板"),
    ]  # fmt: skip
    with Store(partial) as store:
        for start in range(0, departments, 500):
            with store.transaction():
                for n in range(start, min(start + 500, departments)):
                    table = department_table(n, pool)
                    head = {
                        "department_code": table.department.code,
                        "department_name": table.department.name,
                        "file_department_code": table.department.code,
                        "file_department_name": table.department.name,
                        "fiscal_year": 2026,
                        "form": "project",
                    }
                    if n % 10 == 0:  # an earlier file, rejected
                        rejected = store.insert_submission(
                            {**head, **_file(n, "第1次", 0), "kind": "published",
                             "status": "rejected", "verdict": "rejected", "errors": 1,
                             "warnings": 2},
                        )  # fmt: skip
                        store.insert_content(rejected, [], issues)
                    accepted = store.insert_submission(
                        {**head, **_file(n, "第2次", 3600), "kind": "template",
                         "status": "accepted", "verdict": "accepted", "errors": 0,
                         "warnings": 0},
                    )  # fmt: skip
                    store.insert_content(accepted, table.projects, [])
        store.checkpoint()
    partial.rename(path)
    print(f"built {path} ({departments} departments) in {time.perf_counter() - began:.0f} s")


def _file(n: int, which: str, later: int) -> dict[str, object]:
    name = f"D{n:05d}-测试单位{n}-{which}.xlsx"
    seconds = 11 * 3600 + 46 * 60 + 46 + later + n
    at = f"2026-11-26T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return {"file_name": name, "file_path": f"/inbox/{name}", "sha256": f"{n:08d}{which}" * 4,
            "received_at": at + "+00:00", "recorded_at": at + "+00:00"}  # fmt: skip


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


Work = Callable[[], None]


def _rows_of_every_table(store: Store) -> list[Iterable[Any]]:
    """The store's queries behind the detail tables (rows not yet read)."""
    return [
        store.project_rows(None),
        store.indicator_rows(None),
        store.overall_indicator_rows(None),
        store.issue_rows(None),
        store.db.execute("SELECT * FROM submissions"),
    ]


def phase_select(ledger: Path, work: Path) -> Work:
    from perfxl.ledger.store import Store

    def run() -> None:
        with Store(ledger) as store:
            for rows in _rows_of_every_table(store):
                for _ in rows:
                    pass

    return run


def phase_select_csv(ledger: Path, work: Path) -> Work:
    from perfxl.ledger.store import Store

    def run() -> None:
        out = work / "plain-csv"
        out.mkdir(exist_ok=True)
        with Store(ledger) as store:
            for n, rows in enumerate(_rows_of_every_table(store)):
                with (out / f"{n}.csv").open("w", encoding="utf-8-sig", newline="") as fh:
                    csv.writer(fh).writerows(rows)

    return run


def phase_export(fmt: str, again: bool = False) -> Callable[[Path, Path], Work]:
    """The export. Parquet: a first export of a copy of the ledger (made before the clock
    starts), which keeps column copies of the rows in it; `again`, a second export of that
    copy, from its column copies."""

    def phase(ledger: Path, work: Path) -> Work:
        from perfxl.ledger.exports import write_details
        from perfxl.ledger.store import Store

        if fmt == "parquet":
            import pyarrow.parquet  # noqa: F401  (loaded before the clock starts)

            copy = work / "exported.db"
            if not again:
                shutil.copy(ledger, copy)
            ledger = copy
        out = work / (f"{fmt}-again" if again else fmt)

        def run() -> None:
            with Store(ledger) as store:
                write_details(store, out, fmt)

        return run

    return phase


def phase_pyarrow(ledger: Path, work: Path) -> Work:
    """The tables perfxl wrote, read back before the clock: pyarrow writes them again."""
    import pyarrow.parquet as pq

    tables = {p.name: pq.read_table(p) for p in sorted((work / "parquet").glob("*.parquet"))}
    out = work / "plain-parquet"
    out.mkdir(exist_ok=True)

    def run() -> None:
        for name, table in tables.items():
            pq.write_table(table, out / name, row_group_size=BATCH)

    return run


PHASES: dict[str, Callable[[Path, Path], Work]] = {
    "select": phase_select,
    "parquet": phase_export("parquet"),
    "parquet again": phase_export("parquet", again=True),
    "pyarrow": phase_pyarrow,
    "csv": phase_export("csv"),
    "select+csv.writer": phase_select_csv,
}


def child(phase: str, ledger: Path, work: Path) -> None:
    run = PHASES[phase](ledger, work)
    began = time.perf_counter()
    run()
    elapsed = time.perf_counter() - began
    print(json.dumps({"seconds": elapsed, "peak_mib": _peak_mib()}))


def measure(phase: str, ledger: Path, work: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, str(ledger), str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _mib(folder: Path, suffix: str) -> float:
    return sum(p.stat().st_size for p in folder.glob(f"*.{suffix}")) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--departments", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ledger", type=Path, help="default: /tmp/perfxl-bench-exports-N.db")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        phase, ledger, work = args.child
        child(phase, Path(ledger), Path(work))
        return
    ledger = args.ledger or default_ledger(args.departments)
    build_ledger(ledger, args.departments)
    runs: dict[str, list[dict[str, float]]] = {p: [] for p in PHASES}
    sizes: dict[str, float] = {}
    exported = 0.0
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            for phase in PHASES:
                runs[phase].append(measure(phase, ledger, Path(tmp)))
            sizes = {fmt: _mib(Path(tmp) / fmt, fmt) for fmt in ("parquet", "csv")}
            sizes["parquet again"] = _mib(Path(tmp) / "parquet-again", "parquet")
            exported = (Path(tmp) / "exported.db").stat().st_size / 2**20
    seconds = {p: [r["seconds"] for r in rs] for p, rs in runs.items()}
    floors = {
        "parquet": [a + b for a, b in zip(seconds["select"], seconds["pyarrow"], strict=True)],
        "parquet again": seconds["pyarrow"],
        "csv": seconds["select+csv.writer"],
    }
    print(
        f"ledger of {args.departments} departments ({ledger.stat().st_size / 2**20:.0f} MiB; "
        f"{exported:.0f} MiB with the column copies a first Parquet export keeps); "
        f"median of {args.rounds} rounds, each phase in a fresh process"
    )
    print(f"{'phase':<32}{'seconds':>9}{'ratio':>8}{'(rounds)':>14}{'peak MiB':>10}{'MiB out':>9}")
    for phase in PHASES:
        shown = spread = out = ""
        if phase in floors:
            each = [a / b for a, b in zip(seconds[phase], floors[phase], strict=True)]
            shown = f"{statistics.median(seconds[phase]) / statistics.median(floors[phase]):.2f}x"
            spread = f"{min(each):.2f}-{max(each):.2f}x"
            out = f"{sizes[phase]:.0f}"
        peak = max(r["peak_mib"] for r in runs[phase])
        label = {
            "parquet": "perfxl parquet / select+pyarrow",
            "parquet again": "perfxl parquet again / pyarrow",
            "csv": "perfxl csv / select+csv",
        }
        print(
            f"{label.get(phase, phase):<32}{statistics.median(seconds[phase]):>9.2f}{shown:>8}"
            f"{spread:>14}{peak:>10.0f}{out:>9}"
        )


if __name__ == "__main__":
    main()
