"""The tools of the command line (tables, download, bands, check, figures,
export, curve, bench): each a thin adapter from parsed arguments to the function that does
the work."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.errors import UserError
from ..core.files import atomic_write_text


def _write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror}); choose another --output or --save-dir") from exc


def _tables(args: argparse.Namespace) -> int:
    from ..reporting import mixture_tables, paper_tables, tables
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
        for m in mixture_tables.build(records):   # the toy's own measures, not error rates
            texts[m.slug] = mixture_tables.render(m, args.format)
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
    from ..reporting.tables import FORMATS
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
    from ..data import default_data_dir
    from ..data.torchvision_sets import download
    data_dir = args.data_dir or default_data_dir()
    for path in download(args.dataset, data_dir, tuple(args.splits.split(","))):
        print(f"ok: {path}")
    return 0


def _add_download_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", choices=("svhn", "cifar10"))
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--splits", default="train,test,extra", help="SVHN splits to fetch")


def _bands(args: argparse.Namespace) -> int:
    from ..reporting.bands import derive
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
    from ..reporting.bands import check, load
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
    from ..experiments.redraw import redraw
    run = redraw(args.run, args.data_dir, args.device, tuple(args.overrides))
    print(f"pictures: {run.path / 'report.md'}")
    return 0


def _add_figures_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=Path, required=True, metavar="RUN_DIR",
                   help="a run directory with run.json and checkpoint.pt")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where the run's data lives now (default: where the run found it)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[],
                   metavar="KEY=VALUE",
                   help="picture keys only, e.g. inception_weights=PATH for FID/KID/IS, grid_rows=8")


def _export(args: argparse.Namespace) -> int:
    from ..experiments.saved import export
    out = export(args.run, args.out)
    print(f"exported: {out} (model.safetensors, config.json); load it with alibench.load_run")
    return 0


def _add_export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, metavar="RUN_DIR", help="a finished run directory")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="a new (or empty) directory that receives model.safetensors and config.json")


def _curve(args: argparse.Namespace) -> int:
    import shlex

    from ..experiments.curve import CSV, JSON, PNG, curve
    out = args.out if args.out is not None else args.run / "curve"
    command = ["curve", str(args.run), "--every", str(args.every), "--out", str(out)]
    if args.n_labels is not None:
        command += ["--n-labels", str(args.n_labels)]
    for pair in args.set:
        command += ["--set", pair]
    out = curve(args.run, args.every, args.n_labels, out, args.data_dir, args.device,
                command="python -m alibench.run " + shlex.join(command), overrides=args.set)
    print(f"curve: {out / CSV}, {out / PNG}, {out / JSON}")
    return 0


def _add_curve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, metavar="RUN_DIR",
                   help="an svhn-svm or bigan run trained with --set keep_checkpoints_every=N")
    p.add_argument("--every", type=int, default=1, metavar="K",
                   help="evaluate every K-th kept checkpoint (default 1: all); the final one always")
    p.add_argument("--n-labels", type=int, default=None, metavar="N",
                   help="labels of the SVM protocol (default: the run's n_labels)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where curve.csv, curve.png and curve.json go (default RUN_DIR/curve)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where the run's data lives now (default: where the run found it)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="the SVM protocol, cheaper per checkpoint: n_c, n_val_draws, n_test_draws, "
                        "svm_solver (default: the run's)")


def _add_bench_args(p: argparse.ArgumentParser) -> None:
    from ..bench.train_step import add_args
    add_args(p)


def _bench(args: argparse.Namespace) -> int:
    from ..bench.train_step import main
    return main(args)


def _add_gpu_check_args(p: argparse.ArgumentParser) -> None:
    from ..bench.gpu_check import add_args
    add_args(p)


def _gpu_check(args: argparse.Namespace) -> int:
    from ..bench.gpu_check import main
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
    "figures": ("redraw a run's pictures, recon_mse, training signals and report.md from its directory",
                _add_figures_args, _figures),
    "export": ("write a finished run's networks as safetensors plus config.json (no pickles)",
               _add_export_args, _export),
    "curve": (("evaluate a run's kept checkpoints along its way: SVM test error, reconstructions, "
               "sample diversity, D's accuracy (curve.csv, curve.png, curve.json)"),
              _add_curve_args, _curve),
    "bench": ("time a training step, feature extraction or the SVM protocol (JSON with --json)",
              _add_bench_args, _bench),
    "gpu-check": ("the GPU path's claims in one short run: gpu tests, step timings, fast vs eager "
                  "on real data (JSON + summary.md; --dry-run: tiny, CPU)", _add_gpu_check_args, _gpu_check),
}


