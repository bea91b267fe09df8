"""Load test of the web page (`perfxl serve`): N departments each hand in two returns, the
first with a planted fault (a negative 财政专户拨款, to be 已退回), the second as the
department made it (to be 已接收), from C concurrent clients; by default 250 departments
(500 returns) and 50 clients.

The returns are the benchmark corpus (bench/corpus.py: our template, filled, valid; 40
projects and 240 indicators each). Each client opens its department's page, posts the
first return, reads the verdict page, then the second. At the end the ledger must hold
every return exactly once, and each verdict must equal what `perfxl validate` says of the
same file. Reported: throughput, and the median and 95th percentile of an upload's
latency (the post until the verdict page has arrived).

    python bench/serve.py [--departments 250] [--clients 50] [--ledger PATH|postgresql://…]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import DEFAULT, make_corpus  # noqa: E402
from web_server import free_port  # noqa: E402


def faulty(path: Path, out: Path) -> Path:
    """The return with one planted fault: the first project's 财政专户拨款 negative."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    book["项目"]["G4"] = -20
    target = out / f"{path.stem}-第1次.xlsx"
    book.save(target)
    return target


def post(link: str, path: Path) -> tuple[float, str]:
    """Post a return through a department's page; (seconds, the verdict shown)."""
    page = urllib.request.urlopen(link, timeout=120).read().decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf, page[:300]
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
               f"{csrf.group(1)}\r\n".encode())  # fmt: skip
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
               f'filename="{path.name}"\r\n\r\n'.encode())  # fmt: skip
    body.write(path.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        f"{link}/upload", body.getvalue(),
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    began = time.perf_counter()
    verdict = urllib.request.urlopen(request, timeout=300).read().decode()  # follows the 303
    seconds = time.perf_counter() - began
    found = re.search(r'id="verdict" class="verdict \w+">([^<]+)<', verdict)
    return seconds, found.group(1) if found else "（无结果）"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--departments", type=int, default=250)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=0, help="the server's worker processes")
    parser.add_argument("--ledger", help="default: a new SQLite file")
    args = parser.parse_args()
    corpus = make_corpus(DEFAULT, args.departments)
    with tempfile.TemporaryDirectory(prefix="perfxl-bench-serve-") as tmp:
        work = Path(tmp)
        firsts = [faulty(p, work) for p in corpus]
        roster = work / "roster.csv"
        roster.write_text("单位编码,单位名称\n" + "".join(
            f"D{n:05d},测试单位{n}\n" for n in range(args.departments)), "utf-8")  # fmt: skip
        ledger = args.ledger or str(work / "ledger.db")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        perfxl = [sys.executable, "-m", "perfxl"]
        subprocess.run([*perfxl, "links", "--ledger", ledger, "--roster", str(roster),
                        "--year", "2026", "--base-url", url, "-o", str(work / "links.csv")],
                       check=True, capture_output=True)  # fmt: skip
        links = {}
        for line in (work / "links.csv").read_text("utf-8-sig").splitlines()[1:]:
            code, _, _, link = line.split(",")
            links[code] = link
        server = subprocess.Popen(
            [*perfxl, "serve", "--ledger", ledger, "--year", "2026", "--port", str(port),
             "--form", "project", "--jobs", str(args.jobs), "--uploads", str(work / "uploads")],
            stdout=subprocess.DEVNULL, stderr=(work / "serve.log").open("w"),
        )  # fmt: skip
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.25)
            results: dict[Path, tuple[float, str]] = {}
            lock = threading.Lock()

            def department(n: int) -> None:
                link = links[f"D{n:05d}"]
                for path in (firsts[n], corpus[n]):
                    outcome = post(link, path)
                    with lock:
                        results[path] = outcome

            began = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as clients:
                list(clients.map(department, range(args.departments)))
            elapsed = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(timeout=30)
        check(ledger, results, elapsed, args)


def check(ledger: str, results: dict[Path, tuple[float, str]], elapsed: float,
          args: argparse.Namespace) -> None:  # fmt: skip
    """Every return recorded once, each verdict as `perfxl validate` says; the figures."""
    files = sorted(results)
    said = subprocess.run(
        [sys.executable, "-m", "perfxl", "validate", "--format", "json", *map(str, files)],
        capture_output=True, text=True,
    )  # fmt: skip
    validated = {Path(r["file"]): r for r in json.loads(said.stdout)["files"]}
    expected = {p: "已接收" if validated[p]["errors"] == 0 else "已退回" for p in files}
    shown = {p: results[p][1] for p in files}
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    if ledger.startswith("postgres"):
        import psycopg

        with psycopg.connect(ledger) as db:
            recorded = [r[0] for r in db.execute("SELECT sha256 FROM submissions")]
    else:
        with sqlite3.connect(ledger) as db:
            recorded = [r[0] for r in db.execute("SELECT sha256 FROM submissions")]
    latencies = sorted(seconds for seconds, _ in results.values())
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    wrong = [p.name for p in files if shown[p] != expected[p]]
    print(f"{len(files)} returns from {args.clients} clients, {args.departments} departments "
          f"({'PostgreSQL' if ledger.startswith('postgres') else 'SQLite'} ledger)")  # fmt: skip
    print(f"  throughput {len(files) / elapsed:.1f} returns/s ({elapsed:.1f} s in all)")
    print(f"  latency: median {statistics.median(latencies):.2f} s, 95th percentile {p95:.2f} s,"
          f" longest {latencies[-1]:.2f} s")  # fmt: skip
    print(f"  recorded: {len(recorded)} submissions, {len(set(recorded))} distinct files, "
          f"{len(digests - set(recorded))} returns missing")  # fmt: skip
    print(f"  verdicts: {sum(1 for v in shown.values() if v == '已接收')} 已接收, "
          f"{sum(1 for v in shown.values() if v == '已退回')} 已退回; "
          f"{len(wrong)} differ from perfxl validate")  # fmt: skip
    ok = (
        not wrong
        and len(recorded) == len(set(recorded)) == len(files)
        and not (digests - set(recorded))
    )
    print("  OK" if ok else f"  FAILED: {wrong[:5]}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
