"""Command line: ``python -m alibench.run <experiment|tool> [options]``.

Experiments come from the registry (``alibench.experiments``); tools (tables,
download, …) are thin adapters (``commands``). Bad input ends in one line on
stderr and a non-zero exit; ``--debug`` shows the traceback of unexpected errors.
"""

from __future__ import annotations

import os
import sys

from ..core.errors import UserError
from ..core.signals import Stopped
from .parser import EXIT_USER, build_parser, parse_int_list, parse_seeds

EXIT_BUG = 1

__all__ = ["main", "build_parser", "parse_int_list", "parse_seeds"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("ALIBENCH_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]  # accepted anywhere on the line
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USER
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"alibench: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except Stopped as exc:
        print(f"alibench: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("alibench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line unless asked for more
        if debug:
            raise
        print(f"alibench: internal error: {type(exc).__name__}: {exc} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_BUG

