"""Parquet of the large detail tables (项目明细, 指标明细) from column copies.

Reading 2.4 million indicator rows out of SQLite into Python objects takes seconds however
they are written afterwards (bench/exports.py: about 8 s for the rows alone, on a
10,000-department ledger). The rows of a submission never change once recorded, so the
first Parquet export that needs them keeps a copy of each accepted submission's rows as
typed Arrow columns in the ledger (table `column_copies`); later exports read the copies
(a few seconds), and convert only the submissions recorded since. A copy is made from the
same rows, by the same code, as the CSV and the workbook show; it names the columns it was
made with, so that a field added to the ledger makes new copies.

The copies are a cache: where the ledger cannot be written (another program holds it),
the export converts the rows without keeping them, and is as right, only slower."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from perfxl import __version__
from perfxl.errors import PerfxlError
from perfxl.ledger.details import Table, indicator_table, project_table
from perfxl.ledger.store import Store

# The tables kept as copies: made for the accepted submissions (or one) by these.
COPIED: dict[str, Callable[..., Table]] = {
    "projects": project_table,
    "indicators": indicator_table,
}
# Changes when what a copy holds changes (the conversion of a kind of column).
COPY_FORMAT = 1
SAVE_EVERY = 200  # copies saved in one transaction
# Fewer submissions than this without a copy are read one by one, more in one pass.
ONE_BY_ONE = 100

Convert = Callable[[list[Any], list[tuple[object, ...]]], list[Any]]


def signature(table: Table) -> str:
    """What the copies of a table were made with: its columns and their kinds, and the
    perfxl that made them (a new release may read a value's parts otherwise)."""
    what = [COPY_FORMAT, __version__, table.name, [(c.title, c.kind) for c in table.columns]]
    return hashlib.sha256(json.dumps(what, ensure_ascii=False).encode()).hexdigest()[:16]


@contextlib.contextmanager
def keeper(store: Store) -> Iterator[Store | None]:
    """A connection of its own for the copies, for a whole export: `store` may be reading
    a snapshot (an export reads one state of the ledger), in which nothing is written.
    None where the ledger cannot be opened again (the copies are then not kept)."""
    try:
        kept = Store(store.path)
    except PerfxlError:
        yield None
        return
    with kept:
        yield kept


def write_copied(
    pa: Any,
    pq: Any,
    store: Store,
    keeper: Store | None,
    path: Path,
    year: int | None,
    table: Table,
    convert: Convert,
    usual: list[Any],
    batch: int,
) -> None:
    """`table` as Parquet from the column copies of its submissions' rows, made where
    missing and kept through `keeper` (where there is one). `convert(types, rows)` makes a
    part's arrays (widening `types` in place where a value needs it); `usual`, the columns'
    usual types; `batch`, rows per row group.

    Two passes: the first makes the missing copies and learns what each column needs of
    its type across all parts (the Parquet schema comes first); the second writes the
    parts in order, each cast to the widest type (a wider decimal is exact), or converted
    again from its rows where a cast would change how a value reads (a number that became
    text)."""
    make = COPIED[table.name]
    mark = signature(table)
    names = [c.title for c in table.columns]
    ids = store.accepted_ids(year)
    if keeper is not None:
        _prune(keeper, table.name, mark)
    source = keeper or store
    known = {sid: json.loads(needs) for sid, needs in source.copies(table.name, mark).items()}
    wanted = set(ids)
    known = {sid: needs for sid, needs in known.items() if sid in wanted}
    missing = [sid for sid in ids if sid not in known]
    saving = keeper is not None
    pending: list[tuple[int, str, bytes]] = []

    def part_of(rows: list[tuple[object, ...]], types: list[Any]) -> tuple[Any, dict[str, Any]]:
        arrays = convert(types, rows)
        return pa.Table.from_arrays(arrays, names=names), _needs(pa, types, arrays, rows)

    def again(sid: int, types: list[Any]) -> Any:
        return part_of([tuple(row) for row in make(store, year, sid).rows], types)[0]

    for sid, rows in _rows_of(store, year, make, missing, len(ids)):
        part, known[sid] = part_of(rows, list(usual))
        pending.append((sid, json.dumps(known[sid]), _ipc(pa, part)))
        if len(pending) >= SAVE_EVERY or sid == missing[-1]:
            saving = saving and keeper is not None and _save(keeper, table.name, mark, pending)
            pending.clear()

    widest = [_widest(pa, n, usual[n], known.values()) for n in range(len(usual))]
    schema = pa.schema([pa.field(c.title, t) for c, t in zip(table.columns, widest, strict=True)])
    kept: dict[int, bytes] = {}
    with pq.ParquetWriter(str(path), schema) as writer, ThreadPoolExecutor(1) as background:
        # Written in the background while the next parts are read: both let go of the GIL.
        writing: Future[None] | None = None
        held: list[Any] = []
        count = 0
        for n, sid in enumerate(ids):
            if n % SAVE_EVERY == 0 and saving and keeper is not None:  # the next ones' copies
                kept = keeper.copy_data(table.name, mark, ids[n : n + SAVE_EVERY])
            data = kept.pop(sid, None)
            part = _read_ipc(pa, data) if data is not None else again(sid, list(widest))
            if part.schema != schema:
                part = (
                    part.cast(schema)
                    if _castable(pa, part.schema, schema)
                    else again(sid, list(widest))
                )
            held.append(part)
            count += part.num_rows
            if count >= batch or sid == ids[-1]:
                whole = pa.concat_tables(held)
                ready = whole.num_rows if sid == ids[-1] else count - count % batch
                if writing is not None:
                    writing.result()
                writing = background.submit(
                    writer.write_table, whole.slice(0, ready), row_group_size=batch
                )
                held, count = [whole.slice(ready)], count - ready
        if writing is not None:
            writing.result()


def _prune(store: Store, table: str, mark: str) -> None:
    """Let go of the copies no export will read: made with other columns or another
    perfxl, or of submissions no longer accepted (superseded since)."""
    with contextlib.suppress(*store.errors):  # busy or read-only: the next export, then
        store.prune_copies(table, mark)


def _save(store: Store, table: str, mark: str, copies: list[tuple[int, str, bytes]]) -> bool:
    """Keep the copies; False where the ledger cannot take them (busy, read-only): the
    export then converts every part anew, and keeps nothing."""
    try:
        store.save_copies(table, mark, copies)
    except store.errors:
        return False
    return True


def _rows_of(
    store: Store, year: int | None, make: Callable[..., Table], missing: list[int], every: int
) -> Iterator[tuple[int, list[tuple[object, ...]]]]:
    """The rows of each submission in `missing`, as (id, rows): read one submission at a
    time where few are missing, else in one pass over the table's rows (keyed by their
    submission), in both cases the same rows the CSV and the workbook show."""
    if len(missing) < ONE_BY_ONE:
        for sid in missing:
            yield sid, [tuple(row) for row in make(store, year, sid).rows]
        return
    wanted = set(missing)
    found = set()
    for sid, rows in groupby(make(store, year, None, keyed=True).rows, key=itemgetter(-1)):
        if sid in wanted:
            found.add(sid)
            yield sid, [tuple(row[:-1]) for row in rows]
    for sid in missing:  # accepted submissions without rows (no project, no indicator)
        if sid not in found:
            yield sid, []


def _needs(
    pa: Any, types: list[Any], arrays: list[Any], rows: list[tuple[object, ...]]
) -> dict[str, Any]:
    """What a part's columns need of their type, where they are decimal or text: a
    decimal's whole digits and places (its values', not its type's room), or "string"."""
    needs: dict[str, Any] = {}
    for n, type_ in enumerate(types):
        if pa.types.is_decimal(type_):
            whole = 1
            for value in (row[n] for row in rows):
                if isinstance(value, Decimal) and value.is_finite() and value:
                    whole = max(whole, value.adjusted() + 1)
                elif value is not None and not isinstance(value, Decimal):
                    whole = max(whole, _whole_digits(pa, arrays[n]))
                    break
            needs[str(n)] = [whole, type_.scale]
        elif pa.types.is_string(type_):
            needs[str(n)] = "string"
    return needs


def _whole_digits(pa: Any, array: Any) -> int:
    import pyarrow.compute as pc

    whole = 1
    for value in pc.min_max(array).values():
        if value.is_valid:
            _, digits, exponent = value.as_py().as_tuple()
            whole = max(whole, len(digits) + exponent)
    return whole


def _widest(pa: Any, column: int, usual: Any, parts: Iterable[dict[str, Any]]) -> Any:
    """The type that holds column `column` of every part: a decimal with the whole digits
    and places the parts need (precision 18 where that suffices, else 38); text where a
    part has text; else the usual type."""
    needs = [part.get(str(column)) for part in parts]
    if "string" in needs:
        return pa.string()
    decimals = [need for need in needs if need is not None]
    if not decimals or not pa.types.is_decimal(usual):
        return usual
    whole = max(w for w, _ in decimals)
    scale = max(s for _, s in decimals)
    return pa.decimal128(18 if whole + scale <= 18 else 38, scale)


def _castable(pa: Any, have: Any, want: Any) -> bool:
    """Can a part of schema `have` take `want` by a cast that changes no value as read?"""
    for a, b in zip(have.types, want.types, strict=True):
        if a != b and not (pa.types.is_decimal(a) and pa.types.is_decimal(b)):
            return False
    return True


def _ipc(pa: Any, part: Any) -> bytes:
    """A part as an Arrow IPC stream, compressed whole with zstd after its size (a stream
    compressed buffer by buffer reads eight times slower: its buffers are small)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, part.schema) as writer:
        writer.write_table(part)
    stream = sink.getvalue()
    size: int = stream.size
    compressed: bytes = pa.Codec("zstd").compress(stream, asbytes=True)
    return size.to_bytes(8, "little") + compressed


def _read_ipc(pa: Any, data: bytes) -> Any:
    size = int.from_bytes(data[:8], "little")
    stream = pa.Codec("zstd").decompress(data[8:], decompressed_size=size)
    with pa.ipc.open_stream(stream) as reader:
        return reader.read_all()
