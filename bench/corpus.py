"""Filled department workbooks for the benchmarks, made the way departments make them: our
template, filled in, valid. N templates of 40 projects and 240 indicators each, from the
projects of the Guangzhou seed that pass every rule, each department with its own codes.

    python bench/corpus.py --count 1000 --out /tmp/perfxl-bench-corpus-v2
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfxl.checks.config import Config  # noqa: E402
from perfxl.checks.rules import check_table  # noqa: E402
from perfxl.checks.validate import validate_file  # noqa: E402
from perfxl.domain.codesets import load_codeset  # noqa: E402
from perfxl.domain.model import Department, Indicator, Project, TargetTable  # noqa: E402
from perfxl.formats.published import read_published  # noqa: E402
from perfxl.formats.spec import load_spec  # noqa: E402
from perfxl.formats.template_writer import TemplateOptions, write_template  # noqa: E402

SEED = ROOT / "samples" / "guangzhou-minzheng-project-targets.txt"
PROJECTS, INDICATORS = 40, 240
DEFAULT = Path("/tmp/perfxl-bench-corpus-v2")


def clean_projects() -> list[Project]:
    """The seed's projects that pass every rule on their own."""
    seed = read_published(SEED).table
    codeset = load_codeset()
    return [
        p for p in seed.projects if not check_table(TargetTable(projects=[p]), codeset, Config())
    ]


def _by_level_in_turn(project: Project) -> list[Indicator]:
    """A project's indicators, one of each 一级 in turn, so that the first few still cover
    产出, 效益 and 满意度."""
    groups: dict[str | None, list[Indicator]] = {}
    for indicator in project.indicators:
        groups.setdefault(indicator.level1, []).append(indicator)
    out: list[Indicator] = []
    while any(groups.values()):
        out += [group.pop(0) for group in groups.values() if group]
    return out


def department_table(n: int, pool: list[Project]) -> TargetTable:
    """Department n: 40 of the clean projects (in turn), 6 indicators each, unique codes
    and names."""
    projects = []
    per_project = INDICATORS // PROJECTS
    for k in range(PROJECTS):
        source = pool[(n + k) % len(pool)]
        ordered = _by_level_in_turn(source)
        indicators = [ordered[i % len(ordered)] for i in range(per_project)]
        projects.append(
            source.model_copy(
                update={
                    "code": f"D{n:05d}P{k:03d}",
                    "name": f"{source.name}（{k + 1}）",
                    "indicators": [i.model_copy() for i in indicators],
                }
            )
        )
    return TargetTable(
        department=Department(code=f"D{n:05d}", name=f"测试单位{n}"),
        fiscal_year=2026,
        projects=projects,
    )


def _make(args: tuple[Path, int, int]) -> None:
    out, start, stop = args
    pool = clean_projects()
    spec, codeset = load_spec(), load_codeset()
    options = TemplateOptions(year=2026)
    for n in range(start, stop):
        table = department_table(n, pool)
        write_template(out / f"D{n:05d}.xlsx", spec, codeset, table.department, options, table)


def make_corpus(out: Path, count: int, jobs: int = os.cpu_count() or 1) -> list[Path]:
    """Write the workbooks that are not there yet; return all of them. The first is checked
    to be what a department sends when all is well: read, checked, no issue at all."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"D{n:05d}.xlsx" for n in range(count)]
    missing = [n for n, p in enumerate(paths) if not p.is_file()]
    if missing:
        lo, hi = missing[0], count
        bounds = [
            (lo + (hi - lo) * i // jobs, lo + (hi - lo) * (i + 1) // jobs) for i in range(jobs)
        ]
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_make, [(out, a, b) for a, b in bounds if a < b]))
    report = validate_file(paths[0], load_codeset(), Config(), load_spec())
    assert report.table is not None and not report.issues, report.issues
    assert report.table.indicator_count == INDICATORS, report.table.indicator_count
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=DEFAULT)
    args = parser.parse_args()
    print(f"{len(make_corpus(args.out, args.count))} workbooks in {args.out}")
