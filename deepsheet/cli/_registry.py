"""The registry that subcommand modules add themselves to, and the errors shown as one line."""
from __future__ import annotations

__all__ = ["COMMANDS", "OPTIONS", "USER_ERRORS", "UsageError", "RuntimeUserError", "command",
           "option"]

# name -> (help line, add_arguments(parser), run(args) -> exit status)
COMMANDS = {}

# (names of the subcommands it applies to, add_arguments(parser), apply(args))
OPTIONS = []

class UsageError(ValueError):
    """The command line itself is wrong (a value argparse could not check): exit status 2."""


class RuntimeUserError(RuntimeError):
    """The setup cannot do what was asked (no GPU for DEEPSHEET_DEVICE=gpu): one line, status 1."""


# Errors that mean "the user asked for something that cannot be done" (a bad path, an unknown
# name): printed as one line. Anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError,
               IsADirectoryError, PermissionError, RuntimeUserError)


def command(name, help, arguments=None):
    """Register ``run(args) -> int`` as subcommand ``name``; ``arguments(parser)`` adds its options."""
    def register(run):
        COMMANDS[name] = (help, arguments, run)
        return run
    return register


def option(commands, arguments):
    """Register ``apply(args)`` for the subcommands named in ``commands``.

    ``arguments(parser)`` adds the option to each of those subcommands' parsers;
    ``apply(args)`` runs after parsing and before the subcommand (a user error it raises
    is printed as one line like the subcommand's own).
    """
    def register(apply):
        OPTIONS.append((tuple(commands), arguments, apply))
        return apply
    return register
