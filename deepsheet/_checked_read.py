"""Reading a model archive within budgets, before anything is built or allocated.

A model file is untrusted input. Every size that could cost memory or time is checked
against a limit before the bytes are read:

- the zip's entries: names from a fixed list, no duplicates, no encryption, only the
  stored and deflate methods, each entry's declared size under its limit, and the bytes
  actually inflated counted while reading (a lying header cannot inflate past the limit);
- the JSON entries: at most ``JSON_LIMIT`` bytes, nesting at most ``MAX_DEPTH`` deep,
  integers of at most ``MAX_INT_DIGITS`` digits (so neither ``RecursionError`` nor
  Python's int-digit limit can escape);
- each safetensors entry: its header is read first; the data it declares (dtype size x
  shape, contiguous offsets) must fill the entry exactly, and all weights together stay
  under ``max_bytes`` (a caller may raise it), so no more is inflated than declared.

Every failure raises the caller's error class (``SavingError``) naming the file and entry.
"""
from __future__ import annotations

import json
import math
import zipfile
import zlib

__all__ = ["JSON_LIMIT", "MAX_DEPTH", "MAX_INT_DIGITS", "DEFAULT_MAX_BYTES", "check_names",
           "read_json_entries", "read_tensor_entries",
           "parse_json", "safetensors_header", "read_tensor_stream"]

JSON_LIMIT = 16 * 2**20          # config.json / metadata.json (a ResNet's config is ~100 KiB)
MAX_DEPTH = 64                   # nesting of JSON arrays/objects
MAX_INT_DIGITS = 64              # PCG64 states are 128-bit integers: 39 digits
DEFAULT_MAX_BYTES = 2**31        # all weights (and optimizer state) of one file: 2 GiB
_HEADER_LIMIT = 16 * 2**20       # a safetensors header (JSON)
_CHUNK = 2**20

_DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
                "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}


def _check_info(info, limit, path, error):
    name = info.filename
    if info.flag_bits & 0x1:
        raise error(f"{path!r}: entry {name!r} is encrypted; deepsheet models never are")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise error(f"{path!r}: entry {name!r} uses compression method {info.compress_type}; "
                    "a deepsheet model uses only stored or deflate")
    if info.file_size > limit:
        raise error(f"{path!r}: entry {name!r} declares {info.file_size:,} bytes, more than the "
                    f"limit of {limit:,}")


def _read_upto(f, limit):
    """At most ``limit + 1`` bytes from ``f``: one more than allowed says it was too long."""
    parts, total = [], 0
    while total <= limit:
        chunk = f.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        parts.append(chunk)
    return b"".join(parts)


def _read_json_entry(f, info, path, error):
    raw = _read_upto(f, JSON_LIMIT)
    if len(raw) > JSON_LIMIT:
        raise error(f"{path!r}: entry {info.filename!r} inflates past its limit of "
                    f"{JSON_LIMIT:,} bytes (declared {info.file_size:,})")
    return raw


def read_tensor_stream(f, what, budget, max_bytes, path, error):
    """Header first; then exactly the bytes it declares, and only if they fit the budget.

    Returns ``(blob, declared_data_bytes)``; the caller validates the layout with
    ``safetensors_header``.
    """
    head = f.read(8)
    n = int.from_bytes(head, "little") if len(head) == 8 else -1
    if not 0 <= n <= _HEADER_LIMIT:
        raise error(f"{path!r}: {what} is corrupt or truncated: no valid safetensors header "
                    f"(it declares {n:,} header bytes)")
    header = f.read(n)
    if len(header) != n:
        raise error(f"{path!r}: {what} is corrupt or truncated inside its header")
    declared = _declared_bytes(parse_json(header, f"{what}'s header", path, error), what, path,
                               error)
    if declared > budget:
        raise error(f"{path!r}: {what} declares {declared:,} bytes of tensors, more than the "
                    f"{max_bytes:,} allowed (pass max_bytes= to raise the limit)")
    data = _read_upto(f, declared)
    if len(data) != declared:
        raise error(f"{path!r}: {what} is corrupt or truncated: it holds "
                    f"{'more' if len(data) > declared else 'fewer'} bytes than its header "
                    f"declares ({declared:,})")
    return head + header + data, declared


def _read_entry(zf, info, read, path, error):
    try:
        with zf.open(info) as f:
            return read(f)
    except error:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise error(f"{path!r}: entry {info.filename!r} is corrupt or truncated ({exc})") from None


def check_names(zf, required, optional, path, error):
    """``{name: ZipInfo}`` once the archive holds every required entry, nothing unknown and
    no name twice."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    missing = [n for n in required if n not in names]
    if missing:
        raise error(f"{path!r} is not a deepsheet model file: it lacks {missing} (it holds "
                    f"{[n[:80] for n in sorted(set(names))[:10]]})")
    extra = sorted(set(names) - set(required) - set(optional))
    if extra:
        raise error(f"{path!r} holds unexpected entries {[e[:80] for e in extra[:5]]}; refusing "
                    f"to load it (a deepsheet model holds only {list(required + optional)})")
    if len(names) != len(set(names)):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise error(f"{path!r} holds duplicated entries {dup}; refusing an ambiguous archive")
    return {i.filename: i for i in infos}


def read_json_entries(zf, infos, path, error):
    """``{name: bytes}`` of the ``.json`` entries, each at most ``JSON_LIMIT`` bytes."""
    out = {}
    for name, info in infos.items():
        if name.endswith(".json"):
            _check_info(info, JSON_LIMIT, path, error)
            out[name] = _read_entry(zf, info, lambda f: _read_json_entry(f, info, path, error),
                                    path, error)
    return out


def read_tensor_entries(zf, infos, path, error, max_bytes=DEFAULT_MAX_BYTES):
    """``{name: bytes}`` of the ``.safetensors`` entries: each header read and checked
    first, then exactly the bytes it declares, all of them together at most ``max_bytes``."""
    out, budget = {}, max_bytes
    for name, info in infos.items():
        if not name.endswith(".safetensors"):
            continue
        _check_info(info, 8 + _HEADER_LIMIT + budget, path, error)
        blob, declared = _read_entry(
            zf, info, lambda f: read_tensor_stream(f, name, budget, max_bytes, path, error),
            path, error)
        safetensors_header(blob, name, path, error)
        budget -= declared
        out[name] = blob
    return out


def _int(text):
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS} allowed)")
    return int(text)


def _depth_ok(value):
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_json(raw, what, path, error):
    """Parse JSON bytes with bounded integers and nesting; errors become ``error``."""
    try:
        value = json.loads(raw, parse_int=_int)
    except RecursionError:
        raise error(f"{path!r}: {what} nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise error(f"{path!r}: {what} is not valid JSON within the limits ({exc})") from None
    if not _depth_ok(value):
        raise error(f"{path!r}: {what} nests deeper than {MAX_DEPTH} levels")
    return value


def safetensors_header(blob, what, path, error):
    """Check a safetensors blob's header against its size: ``(header, data_bytes)``.

    Each tensor's byte range must equal its dtype's size times the product of its shape,
    the ranges must tile the data exactly, and nothing may follow them.
    """
    if len(blob) < 8:
        raise error(f"{path!r}: {what} is truncated (no safetensors header)")
    n = int.from_bytes(blob[:8], "little")
    if n > _HEADER_LIMIT or n > len(blob) - 8:
        raise error(f"{path!r}: {what} declares a {n:,}-byte header in {len(blob):,} bytes; "
                    "corrupt or truncated")
    header = parse_json(blob[8:8 + n], f"{what}'s header", path, error)
    spans = _spans(header, what, path, error)
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise error(f"{path!r}: {what}: tensor byte ranges overlap or leave gaps")
        pos = end
    if pos != len(blob) - 8 - n:
        raise error(f"{path!r}: {what} holds {len(blob) - 8 - n:,} bytes of data but its header "
                    f"declares {pos:,}")
    return header, pos


def _spans(header, what, path, error):
    if not isinstance(header, dict):
        raise error(f"{path!r}: {what}'s header is not a JSON object")
    spans = []
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            size = _DTYPE_SIZES[entry["dtype"]]
            shape = [int(d) for d in entry["shape"]]
            begin, end = (int(o) for o in entry["data_offsets"])
        except (KeyError, TypeError, ValueError) as exc:
            raise error(f"{path!r}: {what}: tensor {key[:80]!r} has a malformed header entry "
                        f"({type(exc).__name__}: {exc})") from None
        if any(d < 0 for d in shape) or begin < 0 or end - begin != size * math.prod(shape):
            raise error(f"{path!r}: {what}: tensor {key[:80]!r} declares shape {shape[:8]} of "
                        f"{entry['dtype']} but bytes [{begin}, {end})")
        spans.append((begin, end))
    return spans


def _declared_bytes(header, what, path, error):
    return sum(end - begin for begin, end in _spans(header, what, path, error))
