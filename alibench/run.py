"""Command line: ``python -m alibench.run <experiment|tool> [options]``.

Experiments come from the registry (``alibench.experiments``); tools (tables,
download) are plain functions. Bad input ends in one line on stderr and a
non-zero exit; ``--debug`` shows the traceback of unexpected errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import registry
from .errors import UserError
from .fsutil import atomic_write_text
from .stop import Stopped

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


def _run_experiment(exp: registry.Experiment, args: argparse.Namespace) -> int:
    from .runner import run_experiment
    return run_experiment(exp, args)


def _write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror}); choose another --output or --save-dir") from exc


def _tables(args: argparse.Namespace) -> int:
    from . import paper_tables, tables
    root = Path(args.runs)
    if not root.exists():
        raise UserError(f"no runs directory {root}; run an experiment first or pass --runs DIR")
    records, skipped = tables.scan(root)
    texts: dict[str, str] = {}
    if args.layout in ("all", "long"):
        texts["all-runs"] = tables.render(tables.display(tables.summarize(records, args.metric)),
                                          args.format)
    if args.layout in ("all", "paper"):
        for t in paper_tables.build(records, args.metric, sum(skipped.values())):
            texts[t.slug] = paper_tables.render(t, args.format)
    text = "\n\n".join(t.rstrip("\n") for t in texts.values())
    if args.output:
        _write(args.output, text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
    if not args.no_save:
        out = Path(args.save_dir) if args.save_dir else root.parent / "tables"
        ext = paper_tables.EXTENSIONS[args.format]
        for name, t in texts.items():
            _write(out / f"{name}.{ext}", t.rstrip("\n") + "\n")
        print(f"(tables saved under {out}/)", file=sys.stderr)
    if skipped:
        print(f"skipped {tables.describe_skipped(skipped)}: only finished runs are tabulated",
              file=sys.stderr)
    return 0


def _add_tables_args(p: argparse.ArgumentParser) -> None:
    from .tables import FORMATS
    p.add_argument("--runs", default="results/runs", help="directory of run directories")
    p.add_argument("--format", choices=FORMATS, default="markdown")
    p.add_argument("--metric", default="test_error_pct")
    p.add_argument("--output", type=Path, default=None,
                   help="write the table to this file (atomically) instead of printing it")
    p.add_argument("--layout", choices=("all", "long", "paper"), default="all",
                   help="long: one row per method and label count; paper: the paper's two "
                        "tables (methods × label counts, paper's numbers, paired differences); "
                        "all: both (default)")
    p.add_argument("--save-dir", default=None,
                   help="where the rendered tables are written (default: RUNS/../tables, "
                        "i.e. results/tables)")
    p.add_argument("--no-save", action="store_true", help="print only")


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


def _bands(args: argparse.Namespace) -> int:
    from .bands import derive
    data = derive([Path(p) for p in args.runs], tuple(args.metrics.split(",")), args.k, args.floor,
                  args.min_seeds)
    print(json.dumps(data, indent=2))
    return 0


def _add_bands_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", help="run directories, or folders holding them")
    p.add_argument("--metrics", default="test_error_pct", help="comma list of metrics to band")
    p.add_argument("--k", type=float, default=3.0, help="half-width in standard deviations over seeds")
    p.add_argument("--floor", type=float, default=1.0, help="smallest half-width, in points")
    p.add_argument("--min-seeds", type=int, default=5)


def _check(args: argparse.Namespace) -> int:
    from .bands import check, load
    table, ok = check(load(args.against), [Path(p) for p in args.runs])
    print(table.to_markdown(index=False))
    bad = int((table["status"] != "ok").sum())
    print(f"\ncheck: {'all ' + str(len(table)) + ' bands ok' if ok else f'{bad} of {len(table)} bands failed'}")
    return 0 if ok else 1


def _add_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--against", type=Path, required=True, metavar="BANDS", help="bands JSON file")
    p.add_argument("runs", nargs="*", default=["results/runs"],
                   help="run directories or folders holding them (default results/runs)")


def _figures(args: argparse.Namespace) -> int:
    from .figures_tool import redraw
    run = redraw(args.run, args.data_dir, args.device)
    print(f"pictures: {run.path / 'report.md'}")
    return 0


def _add_figures_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=Path, required=True, metavar="RUN_DIR",
                   help="a run directory with run.json and checkpoint.pt")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where the run's data lives now (default: where the run found it)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")


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
    "bands": ("derive regression bands (JSON on stdout) from >= 5 seeds of finished runs",
              _add_bands_args, _bands),
    "check": ("compare finished runs with stored bands; non-zero exit on any failure",
              _add_check_args, _check),
    "figures": ("redraw a run's pictures, recon_mse and report.md from its directory",
                _add_figures_args, _figures),
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


if __name__ == "__main__":
    sys.exit(main())
