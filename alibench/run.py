"""Command line: ``python -m alibench.run <experiment|tool> [options]``.

Experiments come from the registry (``alibench.experiments``); tools (tables,
download) are plain functions. Bad input ends in one line on stderr and a
non-zero exit; ``--debug`` shows the traceback of unexpected errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import registry
from .errors import UserError

EXIT_USER = 2
EXIT_BUG = 1


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, without the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USER, f"{self.prog}: error: {message} (see --help)\n")


def parse_int_list(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{flag} expects integers like 1000,4000, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise UserError(f"{flag} expects positive integers like 1000,4000, got {text!r}")
    return list(dict.fromkeys(values))


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else (part, part)
                seeds += list(range(int(lo), int(hi) + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise UserError(f"--seeds expects integers like 0,1,2 or 0-4, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UserError(f"--seeds expects non-negative integers like 0,1,2 or 0-4, got {text!r}")
    return list(dict.fromkeys(seeds))


def _experiment_help() -> str:
    lines = ["experiments (presets; the first is the default):"]
    for exp in registry.all_experiments():
        presets = [exp.default_preset] + [p for p in exp.presets if p != exp.default_preset]
        lines.append(f"  {exp.name:<14} {exp.summary}  [{', '.join(presets)}]")
    lines += ["", "tools:"]
    for name, (summary, _, _) in TOOLS.items():
        lines.append(f"  {name:<14} {summary}")
    lines += ["", "example: python -m alibench.run svhn-svm --preset demo"]
    return "\n".join(lines)


def _add_experiment_args(p: argparse.ArgumentParser, exp: registry.Experiment) -> None:
    p.add_argument("--preset", default=exp.default_preset,
                   help=f"named settings: {', '.join(exp.presets)} (default {exp.default_preset})")
    p.add_argument("--data", default=None,
                   help="data source: svhn, cifar10, cifar10-jpeg, cifar10-sample, sample:svhn or "
                        "npz:PATH (default: the preset's)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where datasets live (default: $ALIBENCH_DATA, else ~/.cache/alibench/data)")
    p.add_argument("--download", action="store_true",
                   help="download missing official files with torchvision")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--seeds", default="0", help="comma list or range, e.g. 0,1,2 or 0-4 (default 0)")
    p.add_argument("--labels", default=None,
                   help="labelled-example counts, e.g. 1000,4000: one run per count and seed "
                        "(default: the preset's n_labels)")
    p.add_argument("--out", type=Path, default=Path("results/runs"),
                   help="directory that receives one run directory per seed (default results/runs)")
    p.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[],
                   metavar="KEY=VALUE", help="override config keys (unknown keys are refused)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint")
    p.add_argument("--show-config", action="store_true",
                   help="print the resolved config and exit without running")
    p.set_defaults(func=lambda args: _run_experiment(exp, args))


def _run_experiment(exp: registry.Experiment, args: argparse.Namespace) -> int:
    from .runner import run_experiment
    return run_experiment(exp, args)


def _tables(args: argparse.Namespace) -> int:
    from . import tables
    root = Path(args.runs)
    if not root.exists():
        raise UserError(f"no runs directory {root}; run an experiment first or pass --runs DIR")
    records, skipped = tables.load_records(root)
    summary = tables.summarize(records, args.metric)
    print(tables.render(tables.display(summary), args.format))
    if skipped:
        print(f"({skipped} run(s) not finished were skipped)", file=sys.stderr)
    return 0


def _add_tables_args(p: argparse.ArgumentParser) -> None:
    from .tables import FORMATS
    p.add_argument("--runs", default="results/runs", help="directory of run directories")
    p.add_argument("--format", choices=FORMATS, default="markdown")
    p.add_argument("--metric", default="test_error_pct")


def _download(args: argparse.Namespace) -> int:
    from .data import default_data_dir
    from .data.torchvision_sets import download
    data_dir = args.data_dir or default_data_dir()
    for path in download(args.dataset, data_dir, tuple(args.splits.split(","))):
        print(f"ok: {path}")
    return 0


def _add_download_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", choices=("svhn", "cifar10"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--splits", default="train,test,extra", help="SVHN splits to fetch")


def _add_bench_args(p: argparse.ArgumentParser) -> None:
    from .bench import add_args
    add_args(p)


def _bench(args: argparse.Namespace) -> int:
    from .bench import main
    return main(args)


TOOLS = {
    "tables": ("mean ± std tables from run directories, beside the paper's numbers",
               _add_tables_args, _tables),
    "download": ("fetch the official SVHN or CIFAR10 files with torchvision",
                 _add_download_args, _download),
    "bench": ("time a training step, feature extraction or the SVM protocol (JSON with --json)",
              _add_bench_args, _bench),
}


def build_parser() -> argparse.ArgumentParser:
    from . import experiments  # noqa: F401  (registers them)
    parser = Parser(prog="alibench", description="ALI semi-supervised benchmark suite.",
                    epilog=_experiment_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for exp in registry.all_experiments():
        text = exp.summary.replace("%", "%%")  # argparse formats help strings with %
        p = sub.add_parser(exp.name, help=text, description=exp.summary)
        _add_experiment_args(p, exp)
    for name, (summary, add_args, func) in TOOLS.items():
        p = sub.add_parser(name, help=summary.replace("%", "%%"), description=summary)
        add_args(p)
        p.set_defaults(func=func)
    return parser


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
    except KeyboardInterrupt:
        print("alibench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line unless asked for more
        if debug:
            raise
        print(f"alibench: internal error: {type(exc).__name__}: {exc} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
