"""Benchmark: read and validate N filled templates (40 projects, 240 indicators each), and
in the same run time python-calamine alone reading the same files, for the ratio.

    python bench/validate.py [--count 1000] [--corpus /tmp/perfxl-bench-corpus-v2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import DEFAULT, make_corpus  # noqa: E402
from python_calamine import CalamineWorkbook  # noqa: E402

from perfxl.checks.config import Config  # noqa: E402
from perfxl.checks.validate import validate_file  # noqa: E402
from perfxl.domain.codesets import load_codeset  # noqa: E402
from perfxl.formats.spec import load_spec  # noqa: E402


def calamine_only(paths: list[Path]) -> float:
    began = time.perf_counter()
    for path in paths:
        workbook = CalamineWorkbook.from_path(str(path))
        for name in workbook.sheet_names:
            workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return time.perf_counter() - began


def perfxl_validate(paths: list[Path]) -> tuple[float, int, int]:
    spec, codeset, config = load_spec(), load_codeset(), Config()
    began = time.perf_counter()
    projects = indicators = 0
    for path in paths:
        report = validate_file(path, codeset, config, spec)
        assert report.table is not None, report.issues
        projects += len(report.table.projects)
        indicators += report.table.indicator_count
    return time.perf_counter() - began, projects, indicators


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT)
    args = parser.parse_args()
    paths = make_corpus(args.corpus, args.count)
    calamine_only(paths[:20])  # warm the file cache for both
    rounds = []
    for _ in range(2):  # interleaved, so that noise hits both alike
        base = calamine_only(paths)
        ours, projects, indicators = perfxl_validate(paths)
        rounds.append((base, ours))
    base, ours = min(r[0] for r in rounds), min(r[1] for r in rounds)
    print(f"{len(paths)} files, {projects} projects, {indicators} indicators; best of 2 rounds")
    print(f"python-calamine alone, reading:  {base:8.2f} s")
    print(
        f"perfxl read + validate:          {ours:8.2f} s   ({ours / base:.2f} x calamine, "
        f"{len(paths) / ours:.0f} files/s)"
    )


if __name__ == "__main__":
    main()
