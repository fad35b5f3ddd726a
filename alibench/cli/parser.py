"""The command line's grammar: argparse for every experiment and tool, and the
parsing of an experiment's options into a frozen, typed ``RunRequest``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..core import registry
from ..core.errors import UserError
from ..experiments.launch import RunRequest
from .commands import TOOLS

EXIT_USER = 2


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
    p.add_argument("--preset", default=None,
                   help=f"named settings: {', '.join(exp.presets)} (default {exp.default_preset}, "
                        "or the preset of a --config run.json)")
    p.add_argument("--config", dest="config_file", type=Path, default=None, metavar="FILE",
                   help="config keys from a JSON or YAML file (a run's run.json among them: "
                        "rerun it), on top of the preset; --set applies on top of the file")
    p.add_argument("--data", default=None,
                   help="data source: svhn, cifar10, cifar10-jpeg, cifar10-sample, sample:svhn, "
                        "celeba, tiny-imagenet or npz:PATH (default: the preset's)")
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


def run_request(args: argparse.Namespace, argv: list[str]) -> RunRequest:
    """The experiment's part of the command line, parsed and typed."""
    return RunRequest(preset=args.preset, data=args.data, data_dir=args.data_dir,
                      download=args.download, device=args.device, seeds=tuple(parse_seeds(args.seeds)),
                      labels=tuple(parse_int_list(args.labels, "--labels")) if args.labels else None,
                      out=args.out, overrides=tuple(args.overrides), resume=args.resume,
                      show_config=args.show_config,
                      command="python -m alibench.run " + shlex.join(argv),
                      config_file=args.config_file)


def _run_experiment(exp: registry.Experiment, args: argparse.Namespace) -> int:
    from ..experiments.launch import run_experiment
    return run_experiment(exp, run_request(args, sys.argv[1:]))


def build_parser() -> argparse.ArgumentParser:
    from .. import experiments  # noqa: F401  (registers them)
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


