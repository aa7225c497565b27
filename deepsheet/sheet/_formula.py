"""Reading a public object's Formula block out of its docstring."""
from __future__ import annotations

import inspect
import re

__all__ = []

# A section header NumPy-style ("Parameters" over a line of dashes) or a Keras/reST one
# ("Returns:", "Shape::"): where a Formula block stops.
_SECTION = re.compile(r"^(Parameters|Returns|Shape|Examples?|Raises|Notes|References|See Also|"
                      r"Attributes|Yields|Warns|Methods|Arguments|Args|Call arguments)\s*:{0,2}\s*$")
_HEADER = re.compile(r"^Formula\b[^\n]*?(::|:)?\s*$")
_INLINE = re.compile(r"^Formula(\s*\([^)]*\))?\s*:\s+(\S.*)$")  # "Formula: y = f(x)" on one line


def formula_of(obj):
    """The text of ``obj``'s Formula block, dedented, or None when its docstring has none.

    Recognised forms: ``Formula: y = f(x)`` on one line, a NumPy section (``Formula`` over ``-------``), a reST literal block
    (``Formula::`` or ``Formula (as in torch.optim.SGD)::`` then an indented block) and
    Keras's ``Formula:`` line followed by indented or fenced text.
    """
    doc = inspect.getdoc(obj)
    if not doc:
        return None
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        inline = _INLINE.match(line)
        if inline and not line.rstrip().endswith("::"):
            text = [inline.group(2).rstrip()]
            for more in lines[i + 1:]:      # indented continuation lines
                if not more[:1].isspace() or not more.strip():
                    break
                text.append(more.strip())
            return "\n".join(text)
        if not _HEADER.match(line.strip()) or line[:1].isspace():
            continue
        head = line.strip()
        note = head[len("Formula"):].strip().rstrip(":").strip()
        j = i + 1
        if j < len(lines) and set(lines[j].strip()) == {"-"}:
            j += 1
        body, fenced = [], False
        for text in lines[j:]:
            stripped = text.strip()
            if stripped.startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                if _SECTION.match(stripped) or (len(stripped) > 2 and set(stripped) == {"-"}):
                    break
                if (any(b.strip() for b in body) and body[-1] == "" and stripped
                        and not text[:1].isspace()):
                    break  # an unindented paragraph after a blank line: prose again
            body.append(text.rstrip())
        while body and body[-1] == "":
            body.pop()
        while body and body[0].strip() in ("", "::"):  # a NumPy section holding a literal block
            body.pop(0)
        if not body:
            continue
        indent = min(len(t) - len(t.lstrip()) for t in body if t.strip())
        text = "\n".join(t[indent:] for t in body)
        return f"{note}\n{text}" if note else text
    return None
