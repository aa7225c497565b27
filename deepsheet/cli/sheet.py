"""``deepsheet sheet``: the executable cheat sheet — concept, object, formula, test."""
from __future__ import annotations

import os

from ._registry import command


def _sheet_arguments(parser):
    parser.add_argument("topic", nargs="?", default=None,
                        help="a topic (activations, losses, optimizers, regularization, metrics, "
                             "data, layers, architectures, training, theory, rnn, attention, rl, "
                             "gan) or a concept name (e.g. 'Adam'); default: the whole sheet")
    parser.add_argument("--html", metavar="FILE", nargs="?", const="deepsheet-sheet.html",
                        default=None,
                        help="write the sheet as one self-contained page (default file "
                             "deepsheet-sheet.html)")
    parser.add_argument("--list", action="store_true",
                        help="one line per concept: topic, concept, object")


@command("sheet", "the cheat sheet: each concept, the function that implements it, its formula "
                  "and the test that checks it", arguments=_sheet_arguments)
def _run_sheet(args):
    from .. import sheet
    topic = args.topic
    chosen = None
    if topic is not None and topic not in sheet.topics():
        try:
            chosen = sheet.lookup(topic)
        except ValueError as exc:
            raise ValueError(f"{topic!r} is neither a topic ({', '.join(sheet.topics())}) "
                             f"nor one concept ({exc})") from None
        topic = chosen.topic
    if args.html is not None:
        from ..saving import atomic_write
        page = sheet.html(topic).encode("utf-8")
        atomic_write(args.html, lambda f: f.write(page))
        n = len(sheet.concepts(topic))
        print(f"wrote {n} concepts to {os.path.abspath(args.html)}")
        return 0
    if args.list:
        for c in sheet.concepts(topic):
            print(f"{c.topic:<14} {c.concept:<50} {c.object}"
                  + (f"  [pending: issue {c.pending}]" if c.pending else ""))
        return 0
    if chosen is not None:
        out = sheet.text(topic)
        block = [b for b in out.split("\n\n") if b.startswith(chosen.concept + "\n")
                 or b.startswith(chosen.concept + "  [")]
        print(block[0] if block else out)
        return 0
    print(sheet.text(topic), end="")
    return 0
