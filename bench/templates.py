"""Benchmark: write N department templates and print templates per second.

    python bench/templates.py [--count 1000] [--jobs N]

Writes blank templates and templates prefilled from the Guangzhou seed (38 projects, 187
indicators), in one process and in N processes, all in the same run so that the figures
are comparable on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfxl.domain.codesets import load_codeset  # noqa: E402
from perfxl.domain.model import Department, TargetTable  # noqa: E402
from perfxl.formats.published import read_published  # noqa: E402
from perfxl.formats.spec import load_spec  # noqa: E402
from perfxl.formats.template_writer import TemplateOptions, write_template  # noqa: E402

SEED = ROOT / "samples" / "guangzhou-minzheng-project-targets.txt"


def _write(args: tuple[Path, int, int, TargetTable | None]) -> None:
    out, start, stop, prefill = args
    spec, codeset = load_spec(), load_codeset()
    options = TemplateOptions(year=2026, password="bench")
    for n in range(start, stop):
        code = f"D{n:05d}"
        write_template(
            out / f"{code}.xlsx",
            spec,
            codeset,
            Department(code=code, name=f"测试单位{n}"),
            options,
            prefill,
        )


def run(count: int, jobs: int, prefill: TargetTable | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        began = time.perf_counter()
        if jobs == 1:
            _write((out, 0, count, prefill))
        else:
            bounds = [(count * i // jobs, count * (i + 1) // jobs) for i in range(jobs)]
            with ProcessPoolExecutor(jobs) as pool:
                list(pool.map(_write, [(out, a, b, prefill) for a, b in bounds]))
        elapsed = time.perf_counter() - began
        assert len(list(out.glob("*.xlsx"))) == count
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    seed = read_published(SEED).table
    print(f"{args.count} templates, {args.jobs} processes for the parallel runs")
    print(f"{'kind':<34}{'seconds':>9}{'templates/s':>13}")
    for label, prefill, jobs in (
        ("blank, 1 process", None, 1),
        (f"blank, {args.jobs} processes", None, args.jobs),
        ("prefilled (38 + 187), 1 process", seed, 1),
        (f"prefilled (38 + 187), {args.jobs} proc.", seed, args.jobs),
    ):
        elapsed = run(args.count, jobs, prefill)
        print(f"{label:<34}{elapsed:>9.2f}{args.count / elapsed:>13.1f}")


if __name__ == "__main__":
    main()
