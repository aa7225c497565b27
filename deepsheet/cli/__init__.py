"""The ``deepsheet`` command: train, evaluate, inspect and apply models; describe the setup.

Also reachable as ``python -m deepsheet``. Each subcommand is one module of this package
that registers itself with ``@command(name, help, arguments=...)`` (``_registry.py``): a
function that adds its arguments to its own ``argparse`` subparser and a function that
runs it and returns the exit status. A new subcommand is a new module plus one line in
``SUBCOMMANDS`` below; an option shared by several subcommands (``--threads``) is a module
that registers ``@option(commands, arguments)``, a function applied to the parsed
arguments before the subcommand runs. Heavy modules (models, datasets, CuPy) are imported
inside the run functions, never at the top, so ``deepsheet --version`` and ``--help``
stay fast. A user's mistake (unknown dataset or model, missing or broken file) prints one
line naming what exists and exits with status 1; a bug keeps its traceback.

* ``train [--dataset digits|fashion-mnist|FOLDER] [--model mlp|cnn|lenet5|...] [--epochs N]
  [--batch-size N] [--learning-rate LR] [--validation-split F] [--seed N] [--out DIR]
  [--threads N] [--distributed]`` (the latter under ``mpirun -n N``):
  trains (the recipes are in ``deepsheet.recipes``), evaluates on the test split, prints a
  table and ``test accuracy: 0.XXXX``, and writes ``model.deepsheet``, ``history.csv`` and
  ``metrics.json`` to the run folder (default ``runs/<dataset>-<model>-<timestamp>``);
* ``evaluate MODEL [--dataset D] [--split test|train]``: loss and accuracy of a saved model
  (MODEL is a ``.deepsheet`` file or a run folder);
* ``summary MODEL``: layers, shapes, parameters, how and on what it was trained;
* ``predict MODEL FILE.npy [--output OUT.npy]``: predicted classes of raw images (scaled
  as in training: the scale is saved with the model);
* ``info [--json]``: version, array backend, BLAS, threads, GPU, datasets;
* ``rl value-iteration|q-learning|dqn|reinforce --env ID``: reinforcement learning on Gymnasium
  environments (``deepsheet.cli.rl``).

Examples
--------
    $ deepsheet --version
    deepsheet 0.1.0
    $ deepsheet train                      # embedded digits, MLP, a few seconds
    $ deepsheet train --dataset fashion-mnist --model mlp --epochs 10
    $ deepsheet evaluate runs/digits-mlp-20250101-120000
    $ deepsheet predict runs/digits-mlp-20250101-120000 images.npy
    $ deepsheet info --json
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ._registry import (COMMANDS, OPTIONS, USER_ERRORS, RuntimeUserError, UsageError, command,
                        option)
from .info import system_info

__all__ = ["main", "build_parser", "COMMANDS", "system_info", "command", "option"]

# The modules that register subcommands and options, in the order ``--help`` lists them.
# Their top level imports nothing heavy, so ``deepsheet --version`` stays fast.
SUBCOMMANDS = ("info", "train", "evaluate", "summary", "predict", "report", "rl", "sheet",
               "threads", "distributed")


def _load_subcommands():
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}")


def build_parser():
    """The ``argparse`` parser of the ``deepsheet`` command with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="deepsheet",
        description="deepsheet: the deep-learning cheat sheet made executable, on NumPy (CuPy on a GPU).")
    parser.add_argument("--version", action="version", version=f"deepsheet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _load_subcommands()
    for name, (help_line, add_arguments, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        parser._subparsers_by_name = {**getattr(parser, "_subparsers_by_name", {}), name: p}
        if add_arguments is not None:
            add_arguments(p)
        for commands, add_options, _ in OPTIONS:
            if name in commands:
                add_options(p)
    return parser


def main(argv=None):
    """Run the ``deepsheet`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    run = COMMANDS[args.command][2]
    try:
        if args.command != "info":  # info reports the device problem instead
            _check_device()
        for commands, _, apply in OPTIONS:
            if args.command in commands:
                apply(args)
        return run(args)
    except UsageError as exc:
        # argparse's convention: the usage line, the error, status 2.
        getattr(parser, "_subparsers_by_name", {}).get(args.command, parser).print_usage(
            sys.stderr)
        print(f"deepsheet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except USER_ERRORS as exc:
        print(f"deepsheet {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ndeepsheet {args.command}: interrupted", file=sys.stderr)
        return 130


def _check_device():
    """One clear line, before any work, when DEEPSHEET_DEVICE asks for what is not there."""
    from .. import backend
    if backend.get_default_device() == "gpu" and not backend.gpu_available():
        try:
            backend.cupy()
            why = "CuPy is installed but sees no CUDA GPU"
        except ImportError:
            why = "CuPy is not installed (pip install 'deepsheet[gpu]')"
        raise RuntimeUserError(f"DEEPSHEET_DEVICE=gpu but {why}; unset DEEPSHEET_DEVICE or set "
                               "it to cpu")

