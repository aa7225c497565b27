"""``python -m deepsheet``: the same as the ``deepsheet`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
