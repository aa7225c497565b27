"""``python -m deepsheet.cli``: the same as the ``deepsheet`` command."""
import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
