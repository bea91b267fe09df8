"""Statuses and changes: which of a department's submissions is in force, and what each one
changed against the one it replaced.

Which submission is newer is decided by the order of arrival (file time, then name), never
by the order of recording: files collected together, one by one, or late give the same
statuses and the same changes. Changes are told field by field, by the fields' captions
(the registry's, and those of the fields a template spec added)."""

from __future__ import annotations

from typing import Any

from perfxl.domain.fields import TASK, Field, Fields
from perfxl.domain.model import Indicator, OverallTable, Project
from perfxl.ledger.store import Store

Change = dict[str, Any]  # {"change": added/removed/changed, "project", "name", "fields"}
NOTHING = "（无）"


def _value(row: Project | Indicator, field: Field) -> str:
    """A field's value as compared: an amount a spec added is 0.00 where it was not given
    (a version written before the column was added)."""
    value = row.get(field.key)
    if value is None and field.extra and field.is_money:
        return "0.00"
    return "" if value is None else str(value)


def _numbered(items: list[Any], key: Any) -> dict[str, Any]:
    """Items by a key, the second of a key as `key #2`, and so on."""
    seen: dict[str, int] = {}
    out: dict[str, Any] = {}
    for item in items:
        base = key(item)
        seen[base] = seen.get(base, 0) + 1
        out[base if seen[base] == 1 else f"{base} #{seen[base]}"] = item
    return out


def _project_key(project: Project) -> str:
    return f"编码 {project.code}" if project.code else f"名称 {project.name}"


def _indicator_key(indicator: Indicator) -> str:
    return f"指标“{indicator.raw or indicator.name}”"


def _indicator_changes(
    old: list[Indicator], new: list[Indicator], fields: Fields
) -> dict[str, list[str]]:
    """Indicators added, removed and changed, each field of them by its caption."""
    compared = [f for f in fields if f.compared and f.model and f.type != "level"]
    before = _numbered(old, lambda i: (i.level1, i.level2, _indicator_key(i)))
    after = _numbered(new, lambda i: (i.level1, i.level2, _indicator_key(i)))
    out: dict[str, list[str]] = {}
    for key, indicator in after.items():
        label = _indicator_key(indicator)
        previous = before.get(key)
        if previous is None:
            out[label] = [NOTHING, indicator.annual or indicator.raw or ""]
            continue
        for field in compared:
            if field.key == "name":
                continue
            a, b = _value(previous, field), _value(indicator, field)
            if a != b:
                out[f"{label}的{field.title}"] = [a, b]
    for key, indicator in before.items():
        if key not in after:
            out[_indicator_key(indicator)] = [indicator.annual or indicator.raw or "", NOTHING]
    return out


def diff(
    old: list[Project], new: list[Project], fields: Fields, indicator_fields: Fields
) -> list[Change]:
    """Projects added, removed and changed (which fields, old → new, by their captions), by
    project code, else by name."""
    compared = [f for f in fields if f.compared and f.model and f.key != "code"]
    before = _numbered(old, _project_key)
    after = _numbered(new, _project_key)
    out: list[Change] = []
    for key, project in after.items():
        previous = before.get(key)
        if previous is None:
            out.append({"change": "added", "project": key, "name": project.name, "fields": {}})
            continue
        changed: dict[str, list[str]] = {}
        for field in compared:
            a, b = _value(previous, field), _value(project, field)
            if a != b:
                changed[field.title] = [a, b]
        changed |= _indicator_changes(previous.indicators, project.indicators, indicator_fields)
        if changed:
            out.append(
                {"change": "changed", "project": key, "name": project.name, "fields": changed}
            )
    for key, project in before.items():
        if key not in after:
            out.append({"change": "removed", "project": key, "name": project.name, "fields": {}})
    return out


def _shown(value: object) -> str:
    """A value as compared: 0.00 is an amount, not a blank."""
    return "" if value is None else str(value)


def diff_overall(old: OverallTable, new: OverallTable, indicator_fields: Fields) -> list[Change]:
    """What a department-wide submission changed: the overview (预算总额, each budget line,
    the overall goal), the tasks added, removed and changed (by name), and the
    department's indicators."""
    out: list[Change] = []
    overview: dict[str, list[str]] = {}
    pairs = [("预算总额", old.total, new.total), ("总体绩效目标", old.goal, new.goal)]
    before = _numbered(old.budget, lambda b: f"{b.group}·{b.label}" if b.group else b.label)
    after = _numbered(new.budget, lambda b: f"{b.group}·{b.label}" if b.group else b.label)
    for key in dict.fromkeys([*before, *after]):
        a, b = before.get(key), after.get(key)
        pairs.append((key, a.amount if a else None, b.amount if b else None))
    for caption, a, b in pairs:
        shown = ["" if a is None else str(a), "" if b is None else str(b)]
        if shown[0] != shown[1]:
            overview[caption] = [shown[0] or NOTHING, shown[1] or NOTHING]
    if overview:
        out.append({"change": "changed", "project": "总体情况", "name": "总体情况",
                    "fields": overview})  # fmt: skip
    tasks_before = _numbered(old.tasks, lambda t: f"任务 {t.name}")
    tasks_after = _numbered(new.tasks, lambda t: f"任务 {t.name}")
    for key, task in tasks_after.items():
        previous = tasks_before.get(key)
        if previous is None:
            out.append({"change": "added", "project": key, "name": task.name, "fields": {}})
            continue
        changed = {}
        for field in TASK:
            a, b = (_shown(getattr(t, field.key)) for t in (previous, task))
            if field.key != "name" and a != b:
                changed[field.title] = [a or NOTHING, b or NOTHING]
        if changed:
            out.append({"change": "changed", "project": key, "name": task.name,
                        "fields": changed})  # fmt: skip
    for key, task in tasks_before.items():
        if key not in tasks_after:
            out.append({"change": "removed", "project": key, "name": task.name, "fields": {}})
    indicators = _indicator_changes(old.indicators, new.indicators, indicator_fields)
    if indicators:
        out.append({"change": "changed", "project": "部门整体指标", "name": "部门整体指标",
                    "fields": indicators})  # fmt: skip
    return out


def settle(
    store: Store, code: str, fiscal_year: int | None, form: str = "project"
) -> tuple[dict[int, str], dict[int, list[Change]]]:
    """Work out the statuses of one department's submissions for a year from their order of
    arrival, and store them: an accepted submission replaces everything that arrived before
    it; a rejected one replaces only an earlier rejected one, never the accepted figures in
    force. Each submission is compared with the one it replaced: its changes are the
    projects added, removed and changed. Returns every submission's status, and the
    changes of those compared anew."""
    rows = store.arrivals(code, fiscal_year, form)
    previous: dict[int, int | None] = {}  # the submission each one replaced
    superseded_by: dict[int, int | None] = {}
    in_force: int | None = None  # the accepted submission in force
    pending: int | None = None  # a rejected one that arrived after it
    for row in rows:
        sid = row["id"]
        superseded_by[sid] = None
        if row["verdict"] == "accepted":
            previous[sid] = in_force if in_force is not None else pending
            replaced = (in_force, pending)
            in_force, pending = sid, None
        else:
            previous[sid] = pending
            replaced = (pending, None)
            pending = sid
        for old in replaced:
            if old is not None:
                superseded_by[old] = sid
    statuses = {
        row["id"]: "superseded" if superseded_by[row["id"]] else row["verdict"] for row in rows
    }
    compared: dict[int, list[Change]] = {}
    for row in rows:
        sid = row["id"]
        base = previous[sid]
        if base != row["previous_id"]:
            compared[sid] = [] if base is None else _compare(store, base, sid, form)
            store.replace_changes(sid, base, compared[sid])
        wanted = (statuses[sid], superseded_by[sid], base)
        if wanted != (row["status"], row["superseded_by"], row["previous_id"]):
            store.set_standing(sid, *wanted)
    return statuses, compared


def _compare(store: Store, base: int, sid: int, form: str) -> list[Change]:
    """The changes of a submission against the one it replaced, both as the ledger holds
    them."""
    if form == "department":
        return diff_overall(store.overall(base), store.overall(sid), store.fields("indicator"))
    fields = store.fields("project"), store.fields("indicator")
    return diff(store.projects(base), store.projects(sid), *fields)
