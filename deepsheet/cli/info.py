"""``deepsheet info``: version, array backend, BLAS, threads, GPU, datasets."""
from __future__ import annotations

import importlib.util
import os
import platform

from .. import __version__
from ._registry import command

__all__ = ["system_info"]

_THREAD_VARS = ("DEEPSHEET_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
_OPTIONAL = ("tqdm", "safetensors", "matplotlib", "gymnasium", "cupy")


def _blas_info():
    """NumPy's BLAS as NumPy reports it (``show_config(mode="dicts")``, NumPy >= 1.26)."""
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # older NumPy: show_config only prints
        return {"name": "unknown (NumPy < 1.26 does not report it)"}
    blas = (config or {}).get("Build Dependencies", {}).get("blas", {})
    out = {"name": blas.get("name", "unknown"), "version": blas.get("version", "unknown")}
    if blas.get("openblas configuration"):
        out["configuration"] = " ".join(str(blas["openblas configuration"]).split())
    return out


def _deepsheet_threads():
    """deepsheet's own thread settings and each loaded BLAS's threads (threadpoolctl)."""
    from .. import parallel
    info = parallel.threads_info()  # applies deepsheet's BLAS setting first: what training uses
    return {"num_threads": info["num_threads"], "dynamic": info["dynamic"],
            "active_threads": info["active_threads"], "blas_threads": info["blas"]}


def _package_version(name):
    import importlib.metadata  # ~15 ms: only for `info`, never for --version
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cupy_info():
    """CuPy's version and GPUs, importing CuPy only when it is installed."""
    if importlib.util.find_spec("cupy") is None:
        return {"available": False, "detail": "not installed (pip install 'deepsheet[gpu]')"}
    from .. import backend
    try:
        cp = backend.cupy()
        count = cp.cuda.runtime.getDeviceCount()
        names = [cp.cuda.runtime.getDeviceProperties(i)["name"].decode() for i in range(count)]
    except Exception as exc:  # noqa: BLE001 - a broken CUDA setup is reported, not raised
        return {"available": False, "detail": f"installed but unusable: {type(exc).__name__}: {exc}"}
    return {"available": count > 0, "version": cp.__version__, "gpus": names}


def system_info():
    """Everything ``deepsheet info`` prints, as a JSON-friendly dict."""
    import numpy as np

    from .. import backend
    from ..datasets import fashion_mnist, idx

    try:
        device = backend.get_default_device()
    except ValueError as exc:
        device = f"invalid ({exc})"
    if device == "gpu" and not backend.gpu_available():
        device = ("none: DEEPSHEET_DEVICE=gpu asks for the GPU, which is unavailable here "
                  "(see cupy below); other commands refuse to run")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    fm_found = next((f for f in fashion_mnist.search_paths() if all(idx.find_files(f).values())), None)
    return {
        "deepsheet": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "numpy": np.__version__,
        "blas": _blas_info(),
        "backend": {"cpu": "numpy", "gpu": "cupy"}.get(device, "unknown"),
        "default_device": device,
        "default_dtype": str(backend.get_default_dtype()),
        "threads": {
            "cpu_count": os.cpu_count(),
            "usable_cpus": affinity,
            "env": {var: os.environ.get(var) for var in _THREAD_VARS},
            **_deepsheet_threads(),
        },
        "cupy": _cupy_info(),
        "optional_packages": {name: _package_version(name) for name in _OPTIONAL},
        "datasets": {"digits": "embedded",
                     "fashion-mnist": fm_found or "not found (see deepsheet.datasets.fashion_mnist)"},
    }


def _format_info(info):
    threads = info["threads"]
    env = ", ".join(f"{k}={v}" for k, v in threads["env"].items() if v is not None) or "none set"
    blas = info["blas"]
    blas_line = blas["name"] + (f" {blas['version']}" if blas.get("version") else "")
    cupy = info["cupy"]
    if cupy["available"]:
        cupy_line = f"{cupy['version']}, GPUs: {', '.join(cupy['gpus'])}"
    else:
        cupy_line = cupy.get("detail") or f"{cupy.get('version')}, no GPU visible"
    rows = [
        ("deepsheet", info["deepsheet"]),
        ("python", info["python"]),
        ("platform", info["platform"]),
        ("numpy", info["numpy"]),
        ("BLAS", blas_line),
    ]
    if blas.get("configuration"):
        rows.append(("BLAS build", blas["configuration"]))
    rows += [
        ("backend", f"{info['backend']} (default device: {info['default_device']})"),
        ("default dtype", info["default_dtype"]),
        ("CPUs", f"{threads['cpu_count']} ({threads['usable_cpus']} usable by this process)"
         if threads["usable_cpus"] is not None else str(threads["cpu_count"])),
        ("thread variables", env),
    ]
    mode = (f"dynamic: {threads['active_threads']} now, fewer while other processes keep "
            "CPUs busy" if threads["dynamic"] else "fixed")
    rows.append(("deepsheet threads", f"{threads['num_threads']} ({mode}; set with --threads, "
                 "DEEPSHEET_NUM_THREADS or deepsheet.set_num_threads)"))
    if threads["blas_threads"]:
        rows.append(("BLAS threads", ", ".join(f"{k}: {v}" for k, v in threads["blas_threads"].items())
                     + " (inside each of deepsheet's threads)"))
    rows += [
        ("CuPy", cupy_line),
        ("optional packages", ", ".join(f"{k} {v or '-'}" for k, v in info["optional_packages"].items())),
        ("datasets", ", ".join(f"{k}: {v}" for k, v in info["datasets"].items())),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)


def _info_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the same facts as JSON")


@command("info", "print the version, array backend, NumPy and its BLAS, threads, dtype, GPU support",
          arguments=_info_arguments)
def _run_info(args):
    import json
    info = system_info()
    print(json.dumps(info, indent=2) if args.json else _format_info(info))
    return 0
