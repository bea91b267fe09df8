"""Benchmark: collect N filled department workbooks (40 projects, 240 indicators each) and
write the ledger, for N = 100 and 1,000, with in the same run:

- python-calamine alone reading the same files, in one process and in as many processes as
  collect uses (the two floors for collect: collect does more than read, on all cores);
- xlsxwriter alone writing the same cells as the ledger workbook (the floor for ledger);
- the peak memory of each phase, each in a process of its own (memory must not grow with N).

Each phase runs in a fresh process; the libraries it uses are imported before its clock
starts.

    python bench/collect.py [--sizes 100 1000] [--rounds 3] [--corpus /tmp/perfxl-bench-corpus-v2]

The corpus is what departments send: our template, filled, valid; every file is accepted.

The machine may be shared and noisy: every phase runs --rounds times, and the medians are
shown, with the range of the ratios of single rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import DEFAULT  # noqa: E402


def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


# Each phase imports what it uses and returns the work to time: the clock starts after the
# libraries are loaded.
Work = Callable[[], None]


def _read_all(paths: list[Path]) -> None:
    from python_calamine import CalamineWorkbook

    for path in paths:
        workbook = CalamineWorkbook.from_path(str(path))
        for name in workbook.sheet_names:
            workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)


def phase_calamine(files: list[Path], work: Path) -> Work:
    import python_calamine  # noqa: F401  (loaded before the clock starts)

    return lambda: _read_all(files)


def phase_calamine_parallel(files: list[Path], work: Path) -> Work:
    """python-calamine on as many processes as collect uses, each taking files in turn."""
    from concurrent.futures import ProcessPoolExecutor

    import python_calamine  # noqa: F401  (loaded before the clock starts, as in collect)

    jobs = os.cpu_count() or 1

    def run() -> None:
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_read_all, [files[i::jobs] for i in range(jobs)]))

    return run


def phase_collect(files: list[Path], work: Path) -> Work:
    from perfxl.checks.config import Config
    from perfxl.domain.codesets import load_codeset
    from perfxl.formats.spec import load_spec
    from perfxl.ledger.collect import collect
    from perfxl.ledger.store import Store

    def run() -> None:
        with Store(work / "ledger.db") as store:
            report = collect(files, store, load_codeset(), Config(), load_spec())
            assert report.count("accepted") == len(files), report.count("accepted")

    return run


def phase_ledger(files: list[Path], work: Path) -> Work:
    from perfxl.domain.codesets import load_codeset
    from perfxl.ledger.store import Store
    from perfxl.ledger.workbook import write_ledger

    def run() -> None:
        with Store(work / "ledger.db") as store:
            write_ledger(store, work / "ledger.xlsx", load_codeset())

    return run


def phase_xlsxwriter(files: list[Path], work: Path) -> Work:
    """The same cells as the ledger's sheets, written by xlsxwriter with no logic (each
    value's operator, number and unit are derived from its text, as the ledger does)."""
    import sqlite3

    import xlsxwriter

    from perfxl.domain.values import parse_value

    def run() -> None:
        db = sqlite3.connect(work / "ledger.db")
        wb = xlsxwriter.Workbook(str(work / "plain.xlsx"), {"constant_memory": True})
        queries = {
            "projects": "SELECT s.department_code, s.department_name, p.code, p.name, p.unit,"
            " CAST(p.total AS REAL), CAST(p.fiscal AS REAL), CAST(p.special AS REAL),"
            " CAST(p.other AS REAL), p.goal, 6, s.file_name, p.sheet, p.cell"
            " FROM projects p JOIN submissions s ON s.id = p.submission_id",
            "indicators": "SELECT s.department_code, s.department_name, p.code, p.name, i.level1,"
            " i.level1_label, i.level2, i.level2_label, i.name, i.nature, i.period,"
            " i.annual, s.file_name, i.sheet, i.cell FROM indicators i"
            " JOIN projects p ON p.id = i.project_id"
            " JOIN submissions s ON s.id = p.submission_id",
            "issues": "SELECT * FROM issues",
            "submissions": "SELECT * FROM submissions",
        }
        for name, query in queries.items():
            ws = wb.add_worksheet(name)
            for r, row in enumerate(db.execute(query)):
                if name == "indicators":  # each value's operator, number and unit too
                    parts = []
                    for text in row[10:12]:
                        value = parse_value(text)
                        number = None if value.number is None else float(value.number)
                        parts += [text, value.operator, number, value.unit]
                    row = (*row[:10], *parts, *row[12:])
                for c, value in enumerate(row):
                    if isinstance(value, (int, float)):
                        ws.write_number(r, c, value)
                    elif value is not None:
                        ws.write_string(r, c, str(value))
        wb.close()

    return run


PHASES = {
    "calamine": phase_calamine,
    "calamine-parallel": phase_calamine_parallel,
    "collect": phase_collect,
    "ledger": phase_ledger,
    "xlsxwriter": phase_xlsxwriter,
}


def child(phase: str, count: int, corpus: Path, work: Path) -> None:
    files = sorted(corpus.glob("*.xlsx"))[:count]
    run = PHASES[phase](files, work)
    began = time.perf_counter()
    run()
    elapsed = time.perf_counter() - began
    print(json.dumps({"seconds": elapsed, "peak_mib": _peak_mib()}))


def measure(phase: str, count: int, corpus: Path, work: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, str(count), str(corpus), str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--corpus", type=Path, default=DEFAULT)
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of all four phases; medians are shown"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        phase, count, corpus, work = args.child
        child(phase, int(count), Path(corpus), Path(work))
        return
    from corpus import make_corpus

    make_corpus(args.corpus, max(args.sizes))
    print(
        f"{os.cpu_count()} cores; workbooks of 40 projects and 240 indicators; "
        f"median of {args.rounds} rounds, each phase in a fresh process, the phases of a "
        "round one after the other"
    )
    jobs = os.cpu_count() or 1
    print(f"{'N':>6} {'phase':<34}{'seconds':>9}{'ratio':>8}{'(rounds)':>18}{'peak MiB':>10}")
    for count in args.sizes:
        runs: dict[str, list[dict[str, float]]] = {p: [] for p in PHASES}
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                for phase in ("calamine", "calamine-parallel", "collect", "ledger", "xlsxwriter"):
                    runs[phase].append(measure(phase, count, args.corpus, Path(tmp)))
        seconds = {p: [r["seconds"] for r in rs] for p, rs in runs.items()}
        for label, phase, floor in (
            ("python-calamine read, 1 process", "calamine", None),
            (f"python-calamine read, {jobs} proc.", "calamine-parallel", None),
            ("perfxl collect / 1 process", "collect", "calamine"),
            (f"perfxl collect / {jobs} proc.", "collect", "calamine-parallel"),
            ("xlsxwriter, same cells", "xlsxwriter", None),
            ("perfxl ledger xlsx", "ledger", "xlsxwriter"),
        ):
            shown = spread = ""
            if floor is not None:
                base = seconds[floor]
                ratio = _median(seconds[phase]) / _median(base)
                each = [ours / theirs for ours, theirs in zip(seconds[phase], base, strict=True)]
                shown = f"{ratio:.2f}x"
                spread = f"{min(each):.2f}-{max(each):.2f}x"
            peak = max(r["peak_mib"] for r in runs[phase])
            print(
                f"{count:>6} {label:<34}{_median(seconds[phase]):>9.2f}{shown:>8}{spread:>18}"
                f"{peak:>10.0f}"
            )


if __name__ == "__main__":
    main()
