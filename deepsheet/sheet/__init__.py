"""The executable cheat sheet: each concept of the four cheat sheets, the public object that
implements it, that object's formula (read from its docstring) and the test that checks it.

The list lives in ``concepts.tsv`` next to this file (data, not code: one concept per line).
``deepsheet sheet [TOPIC]`` prints it; ``deepsheet sheet --html FILE`` writes it as one page.
``tests/sheet/test_concepts.py`` keeps the promise: it fails when a listed concept has no
implementing object, no Formula block or no test. An entry whose object another issue is still
building carries that issue's number in the ``pending`` column; it is reported, not failed.

Examples
--------
>>> from deepsheet import sheet
>>> c = sheet.lookup("ReLU")
>>> c.object
'deepsheet.functional.relu'
>>> sheet.formula(c).splitlines()[0]
'y = max(0, x)'
"""
from __future__ import annotations

import html as _html
import importlib
import os
from typing import NamedTuple

from ._formula import formula_of

__all__ = ["Concept", "concepts", "topics", "lookup", "resolve", "formula", "problems", "text",
           "html", "formula_of"]

_FILE = os.path.join(os.path.dirname(__file__), "concepts.tsv")


class Concept(NamedTuple):
    """One line of the sheet."""
    topic: str
    concept: str
    object: str   # dotted path of the public object
    test: str     # tests/...py::test_name (a file or folder while pending)
    pending: str  # the issue building the object, "" once it is on main


_CACHE = []


def concepts(topic=None):
    """Every concept of the sheet, in sheet order (or only those of ``topic``)."""
    if not _CACHE:
        with open(_FILE, encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f
                    if line.strip() and not line.startswith("#")]
        header, rows = rows[0], rows[1:]
        for i, row in enumerate(rows, start=2):
            if not 4 <= len(row) <= 5:
                raise ValueError(f"concepts.tsv row {i}: expected {len(header)} tab-separated "
                                 f"columns, got {len(row)}: {row!r}")
            _CACHE.append(Concept(*row, *([""] * (5 - len(row)))))
    if topic is None:
        return list(_CACHE)
    known = topics()
    if topic not in known:
        raise ValueError(f"unknown topic {topic!r}; topics: {', '.join(known)}")
    return [c for c in _CACHE if c.topic == topic]


def topics():
    """The topics in sheet order."""
    return list(dict.fromkeys(c.topic for c in concepts()))


def lookup(name):
    """The concept named ``name`` (case-insensitive; a unique substring is enough)."""
    key = name.lower()
    exact = [c for c in concepts() if c.concept.lower() == key]
    found = exact or [c for c in concepts() if key in c.concept.lower()]
    if len(found) != 1:
        what = "no concept" if not found else f"{len(found)} concepts"
        raise ValueError(f"{what} matching {name!r}" + (
            f": {', '.join(c.concept for c in found[:8])}" if found else ""))
    return found[0]


def resolve(path):
    """The object at a dotted path (``deepsheet.functional.relu``), or None when absent.

    An attribute wins over a submodule of the same name (``deepsheet.functional.dropout`` is
    the function, not the module it lives in).
    """
    parts = path.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return None
    for i, part in enumerate(parts[1:], start=2):
        try:
            obj = getattr(obj, part)
            continue
        except AttributeError:
            pass
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            return None
    return obj


def formula(concept):
    """The Formula block of the concept's object, or None (object missing or no block)."""
    obj = resolve(concept.object)
    return None if obj is None else formula_of(obj)


def problems(concept, root):
    """What keeps ``concept`` from keeping the sheet's promise: [] when its object exists, has a
    Formula block, and its test function exists under ``root`` (the repository)."""
    import re
    found = []
    obj = resolve(concept.object)
    if obj is None:
        found.append(f"no object at {concept.object}")
    elif not formula_of(obj):
        found.append(f"{concept.object} has no Formula block in its docstring")
    path, _, name = concept.test.partition("::")
    full = os.path.join(root, path)
    if not name:
        found.append(f"test {concept.test!r} names no test function (file::test_name)")
    elif not os.path.isfile(full):
        found.append(f"test file {path} does not exist")
    else:
        with open(full, encoding="utf-8") as f:
            if not re.search(rf"^(async )?def {re.escape(name)}\(", f.read(), re.M):
                found.append(f"{path} has no function {name}")
    return found


def _summary(obj):
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return doc[0].strip() if doc else ""


def text(topic=None, width=100):
    """The sheet (or one topic) as plain text: concept, object, formula, test."""
    lines = []
    current = None
    for c in concepts(topic):
        if c.topic != current:
            current = c.topic
            lines += ["", f"== {current} " + "=" * max(0, width - len(current) - 4)]
        obj = resolve(c.object)
        status = f"  [pending: issue {c.pending}]" if c.pending and obj is None else ""
        lines.append(f"\n{c.concept}{status}")
        lines.append(f"  object:  {c.object}")
        f = formula_of(obj) if obj is not None else None
        if f:
            lines.append("  formula:")
            lines += [f"    {row}" for row in f.splitlines()]
        else:
            lines.append("  formula: (not yet)" if obj is None else "  formula: (missing)")
        lines.append(f"  test:    {c.test}")
    return "\n".join(lines).lstrip("\n") + "\n"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:2px solid #36c;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-bottom:1px solid #ddd;
padding:.4em;vertical-align:top;text-align:left;overflow-wrap:anywhere}th{background:#f3f5fa}
th:nth-child(1){width:13%}th:nth-child(2){width:22%}th:nth-child(3){width:45%}th:nth-child(4){width:20%}
pre{margin:0;font-size:.86em;white-space:pre-wrap}code{font-size:.86em;color:#135}
.pending{color:#a60}.muted{color:#777;font-size:.85em}nav a{margin-right:.8em}
"""


def html(topic=None):
    """The sheet as one self-contained HTML page (no scripts, no external files)."""
    esc = _html.escape
    chosen = concepts(topic)
    names = list(dict.fromkeys(c.topic for c in chosen))
    done = sum(1 for c in chosen if not c.pending)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>deepsheet: the executable cheat sheet</title>",
             f"<style>{_STYLE}</style></head><body>",
             "<h1>deepsheet: the executable cheat sheet</h1>",
             f"<p>{len(chosen)} concepts: each with the object that implements it, its formula "
             f"(from the docstring) and the test that checks it; {done} on main, "
             f"{len(chosen) - done} pending.</p>",
             "<nav>" + "".join(f'<a href="#{esc(t)}">{esc(t)}</a>' for t in names) + "</nav>"]
    for t in names:
        parts.append(f'<h2 id="{esc(t)}">{esc(t)}</h2><table><tr><th>concept</th>'
                     "<th>object</th><th>formula</th><th>test</th></tr>")
        for c in chosen:
            if c.topic != t:
                continue
            obj = resolve(c.object)
            f = formula_of(obj) if obj is not None else None
            note = (f'<div class="pending">pending: issue {esc(c.pending)}</div>'
                    if c.pending and obj is None else "")
            summary = f'<div class="muted">{esc(_summary(obj))}</div>' if obj is not None else ""
            parts.append(f"<tr><td>{esc(c.concept)}{note}</td><td><code>{esc(c.object)}"
                         f"</code>{summary}</td><td><pre>{esc(f or '')}</pre></td>"
                         f"<td><code>{esc(c.test)}</code></td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
