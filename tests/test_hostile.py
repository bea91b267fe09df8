"""Hostile and broken files (tests/hostile.py builds them: bombs, lies, damage, tricks): each
goes through `perfxl validate` and the whole corpus through `perfxl collect`, in processes
whose address space is capped at 2 GiB, with a timeout. No crash, no traceback, no hang;
every file gets the issue codes it must; nothing from outside the inbox is stored.

The peak memory of each file is written to `tests/output/hostile-memory.txt`."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile import Hostile, build

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="address-space limits: Linux")

ADDRESS_SPACE = 2 << 30  # 2 GiB, the whole process (its workers each have their own)
TIMEOUT = 240  # seconds; the slowest file takes about 30
OUTPUT = Path(__file__).resolve().parent / "output"
# A process run with its peak memory told on stderr at exit, however it exits.
RUN = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'\\nPEAK-KB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "sys.argv = ['perfxl', *sys.argv[1:]]\n"
    "runpy.run_module('perfxl', run_name='__main__')\n"
)


@dataclass
class Run:
    code: int | None  # None: killed at the timeout
    out: str
    err: str

    @property
    def peak_mb(self) -> float:
        marks = [line for line in self.err.splitlines() if line.startswith("PEAK-KB ")]
        return int(marks[-1].split()[1]) / 1024 if marks else float("nan")


def perfxl(*args: str, cwd: Path) -> Run:
    """`perfxl …` in a process of at most 2 GiB of address space."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        preexec_fn=cap,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONHASHSEED": "0"},
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        return Run(None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return Run(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Hostile]]]:
    folder = tmp_path_factory.mktemp("hostile") / "inbox"
    yield folder, build(folder)


@pytest.fixture(scope="module")
def validated(corpus: tuple[Path, list[Hostile]]) -> dict[str, Run]:
    folder, files = corpus
    ask = [h for h in files if not h.collect_only]
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(lambda h: perfxl("validate", h.name, "--format", "json", cwd=folder), ask)
        found = {h.name: run for h, run in zip(ask, runs, strict=True)}
    OUTPUT.mkdir(exist_ok=True)
    lines = [f"{run.peak_mb:8.1f} MiB  {name}" for name, run in found.items()]
    (OUTPUT / "hostile-memory.txt").write_text(
        "peak memory of `perfxl validate` for each hostile file\n"
        + "\n".join(sorted(lines, reverse=True))
        + "\n",
        encoding="utf-8",
    )
    return found


def test_the_corpus_has_at_least_40_files_each_with_what_it_must_get(
    corpus: tuple[Path, list[Hostile]],
) -> None:
    folder, files = corpus
    assert len(files) >= 40
    assert all(h.note for h in files)
    assert sum(1 for h in files if h.expect) >= 40  # files that must get a named issue
    assert {h.name for h in files} <= {p.name for p in folder.iterdir()}


def test_validate_explains_every_hostile_file_without_crash_or_traceback(
    corpus: tuple[Path, list[Hostile]], validated: dict[str, Run]
) -> None:
    failures = []
    for hostile in (h for h in corpus[1] if not h.collect_only):
        run = validated[hostile.name]
        if run.code is None:
            failures.append(f"{hostile.name}: still running after {TIMEOUT} s")
            continue
        if run.code not in (0, 1, 2) or "Traceback" in run.err:
            failures.append(f"{hostile.name}: exit {run.code}\n{run.err[-800:]}")
            continue
        report = json.loads(run.out)
        codes = {issue["code"] for issue in report["issues"]}
        if not hostile.expect <= codes:
            failures.append(f"{hostile.name}: wanted {sorted(hostile.expect)}, got {sorted(codes)}")
        if "root:x:0:0" in run.out + run.err:
            failures.append(f"{hostile.name}: a local file's content in the output")
        if any(ch in run.out for ch in ("\x1b", "\x07", "\x9b")):
            failures.append(f"{hostile.name}: a control character in the output")
        if hostile.expect and report["files"][0]["errors"] + report["files"][0]["warnings"] == 0:
            failures.append(f"{hostile.name}: no issue at all")
    assert not failures, "\n".join(failures)


def test_collect_records_every_file_once_and_nothing_from_outside_the_inbox(
    corpus: tuple[Path, list[Hostile]], tmp_path: Path
) -> None:
    folder, files = corpus
    ledger = tmp_path / "ledger.db"
    args = ("collect", str(folder), "--ledger", str(ledger), "--year", "2026", "--jobs", "2")
    first = perfxl(*args, cwd=tmp_path)
    assert first.code == 1, first.err[-2000:]  # some rejected, none crashed
    assert "Traceback" not in first.err + first.out
    # The links, the pipe: skipped, each with its code; none of them stored.
    for hostile in (h for h in files if h.collect_only):
        assert all(code in first.err for code in hostile.expect), (hostile.name, first.err)
    with sqlite3.connect(ledger) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = dict(db.execute("SELECT file_name, sha256 FROM submissions").fetchall())
        codes: dict[str, set[str]] = {}
        for name, code in db.execute(
            "SELECT s.file_name, i.code FROM issues i JOIN submissions s ON s.id = i.submission_id"
        ):
            codes.setdefault(name, set()).add(code)
    regular = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
    }
    # Only the inbox's own files; each of them stored, or the same bytes stored under
    # another of its names (a file twice is recorded once).
    assert set(stored) <= set(regular)
    assert not {h.name for h in files if h.collect_only} & set(stored)
    assert {regular[name] for name in regular} == set(stored.values())
    # Each stored file got the codes validate gives it.
    for hostile in files:
        if hostile.name in stored and hostile.expect:
            assert hostile.expect <= codes.get(hostile.name, set()), hostile.name
    # Again: nothing new read, nothing doubled, no loop on any file.
    again = perfxl(*args, cwd=tmp_path)
    assert again.code == 0 and "Traceback" not in again.err, again.err[-2000:]
    with sqlite3.connect(ledger) as db:
        assert len(db.execute("SELECT id FROM submissions").fetchall()) == len(stored)


def test_an_ambiguous_amount_is_an_error_at_its_cell_with_the_readings_it_allows(
    validated: dict[str, Run],
) -> None:
    for name, cell, said in (
        ("amount-space-comma.xlsx", "F4", "可能是 1,209.08 或 120,908"),
        ("amount-dot-comma.xlsx", "F5", "可能是 1,209.08 或 1.20908"),
        ("amount-bad-grouping.xlsx", "F7", "可能是 6,576.001"),
    ):
        issues = json.loads(validated[name].out)["issues"]
        [issue] = [i for i in issues if i["code"] == "amount-invalid"]
        assert (issue["sheet"], issue["cell"], issue["severity"]) == ("项目", cell, "error")
        assert said in issue["message"], issue["message"]
    issues = json.loads(validated["amount-chinese-numerals.xlsx"].out)["issues"]
    [issue] = [i for i in issues if i["code"] == "amount-invalid"]
    assert issue["cell"] == "F6" and "可能是" not in issue["message"]  # no number at all


def test_a_flood_stays_bounded_when_the_configuration_changes_a_severity(
    corpus: tuple[Path, list[Hostile]], tmp_path: Path
) -> None:
    folder, _ = corpus
    config = tmp_path / "perfxl.toml"
    config.write_text('[rules]\nrows-inserted = "warning"\nrequired-missing = "warning"\n')
    run = perfxl("validate", "rows-150000.xlsx", "--format", "json", "--config", str(config),
                 cwd=folder)  # fmt: skip
    assert run.code == 1 and "Traceback" not in run.err, run.err[-2000:]
    issues = json.loads(run.out)["issues"]
    assert all(issue["message"] for issue in issues)  # no placeholder left
    inserted = [i for i in issues if i["code"] == "rows-inserted"]
    assert len(inserted) == 1000 and {i["severity"] for i in inserted} == {"warning"}
    [said] = [
        i for i in issues if i["code"] == "issues-truncated" and "rows-inserted" in i["message"]
    ]
    assert "149,936" in said["message"]
