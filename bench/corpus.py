"""Filled department workbooks for the benchmarks: N templates of 40 projects and 240
indicators each, made from the Guangzhou seed through the template writer.

    python bench/corpus.py --count 1000 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfxl.domain.codesets import load_codeset  # noqa: E402
from perfxl.domain.model import Department, Project, TargetTable  # noqa: E402
from perfxl.formats.published import read_published  # noqa: E402
from perfxl.formats.spec import load_spec  # noqa: E402
from perfxl.formats.template_writer import TemplateOptions, write_template  # noqa: E402

SEED = ROOT / "samples" / "guangzhou-minzheng-project-targets.txt"
PROJECTS, INDICATORS = 40, 240


def department_table(n: int, seed: TargetTable) -> TargetTable:
    """Department n: 40 of the seed's projects (in turn), 6 indicators each, unique codes."""
    pool = [p for p in seed.projects if len(p.indicators) >= 4]
    projects = []
    for k in range(PROJECTS):
        source = pool[(n + k) % len(pool)]
        indicators = [source.indicators[i % len(source.indicators)] for i in range(6)]
        projects.append(
            Project(
                code=f"D{n:05d}P{k:03d}",
                name=f"{source.name}（{k + 1}）",
                total=source.total,
                fiscal=source.fiscal,
                special=source.special,
                other=source.other,
                goal=source.goal,
                indicators=[i.model_copy() for i in indicators],
            )
        )
    return TargetTable(
        department=Department(code=f"D{n:05d}", name=f"测试单位{n}"),
        fiscal_year=2026,
        projects=projects,
    )


def _make(args: tuple[Path, int, int]) -> None:
    out, start, stop = args
    seed = read_published(SEED).table
    spec, codeset = load_spec(), load_codeset()
    options = TemplateOptions(year=2026)
    for n in range(start, stop):
        table = department_table(n, seed)
        write_template(out / f"D{n:05d}.xlsx", spec, codeset, table.department, options, table)


def make_corpus(out: Path, count: int, jobs: int = os.cpu_count() or 1) -> list[Path]:
    """Write the workbooks that are not there yet; return all of them."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"D{n:05d}.xlsx" for n in range(count)]
    missing = [n for n, p in enumerate(paths) if not p.is_file()]
    if missing:
        lo, hi = missing[0], count
        bounds = [
            (lo + (hi - lo) * i // jobs, lo + (hi - lo) * (i + 1) // jobs) for i in range(jobs)
        ]
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_make, [(out, a, b) for a, b in bounds]))
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/perfxl-bench-corpus"))
    args = parser.parse_args()
    print(f"{len(make_corpus(args.out, args.count))} workbooks in {args.out}")
