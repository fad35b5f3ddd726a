"""The command's module: ``python -m alibench.run <experiment|tool> [options]``
(the console script ``alibench`` is the same). The command line itself lives
in ``alibench.cli``; this module only starts it."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
