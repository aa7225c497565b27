"""File checks shared by every reader of user-named files (model archives, weights, IDX data).

A FIFO, a device or a folder given where a file is expected would block forever (a FIFO
waits for a writer) or stream without end (``/dev/zero``) once opened, so each reader asks
``os.stat`` first and refuses anything that is not a regular file before opening it.
"""
from __future__ import annotations

import os
import stat

__all__ = ["regular_file"]


def regular_file(path, kind, error=ValueError):
    """Return ``os.fspath(path)`` if it names an existing regular file, else raise.

    ``FileNotFoundError`` when nothing is there; ``error`` (a ``ValueError`` subclass chosen
    by the caller, e.g. ``SavingError``) for folders, FIFOs, sockets and devices.
    Symbolic links are followed, as ``open`` would.
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"no {kind} file at {path!r}") from None
    except OSError as exc:
        raise error(f"cannot read {kind} file {path!r}: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        return path
    what = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode)
            or stat.S_ISBLK(mode) else "not a regular file")
    raise error(f"{path!r} is {what}, expected a {kind} file; refusing to open it")
