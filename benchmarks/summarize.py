"""Markdown tables from pytest-benchmark JSON files (results/benchmarks/*.json).

    python benchmarks/summarize.py results/benchmarks/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _yes(v) -> str:
    return "on" if v else "off"


def _train_rows(benches: list[dict]) -> list[str]:
    rows = []
    eager = {(b["extra_info"]["arch"], b["extra_info"]["width"], b["extra_info"]["batch"],
              b["extra_info"]["device"]):
             b["extra_info"]["images_per_s"] for b in benches
             if b["extra_info"].get("variant") == "eager-fp32"}
    for b in benches:
        e = b["extra_info"]
        if e.get("variant") == "default-vs-eager":   # its own interleaved reference
            rows.append(f"| {e['arch']} | {e['width']} | {e['batch']} | default (interleaved with eager) | "
                        f"{e['dtype']} | {_yes(e['channels_last'])} | {_yes(e['compile'])} | off | "
                        f"{e['images_per_s']:,.0f} | {e['speedup_vs_eager_fp32']:.2f}× | {e['device_name']} |")
            continue
        base = eager.get((e["arch"], e["width"], e["batch"], e["device"]))
        rows.append(f"| {e['arch']} | {e['width']} | {e['batch']} | {e['variant']} | {e['dtype']} | "
                    f"{_yes(e['channels_last'])} | {_yes(e['compile'])} | {_yes(e['cuda_graph_captured'])} | "
                    f"{e['images_per_s']:,.0f} | {e['images_per_s'] / base:.2f}× | {e['device_name']} |"
                    if base else "")
    return [r for r in rows if r]


def _feature_rows(benches: list[dict]) -> list[str]:
    return [f"| svhn encoder | {b['extra_info']['width']} | {b['extra_info']['batch']} | "
            f"{b['extra_info']['feature_dim']} | {b['extra_info']['images_per_s']:,.0f} | "
            f"{b['extra_info']['device_name']} |" for b in benches]


def _svm_rows(benches: list[dict]) -> list[str]:
    rows = []
    for b in benches:
        e = b["extra_info"]
        stages = ", ".join(f"{s['fits']} fits {s['seconds']:.1f} s" for s in e["stages"])
        rows.append(f"| {e['size']} | {e['solver']} | {e['fits']} | {e['wall_s']:.1f} | {e['s_per_fit']:.3f} | "
                    f"{stages} | {e['test_error_pct']:.3f} | {e['best_log_c']:.2f} | {e['device_name']} |")
    return rows


def summarize(paths: list[Path]) -> str:
    benches = [b for p in paths for b in json.loads(Path(p).read_text())["benchmarks"]]
    kind = lambda name: [b for b in benches if b["name"].startswith(name)]  # noqa: E731
    out = ["**Training step** (images/s; speed-up against eager float32 on the same device)", "",
           "| arch | width | batch | variant | dtype | channels_last | compile | CUDA graph | images/s | vs eager | device |",
           "|---|---|---|---|---|---|---|---|---|---|---|", *_train_rows(kind("test_train_step")), "",
           "**Feature extraction** (μ + three hidden layers, float32, inference mode)", "",
           "| network | width | batch | feature dim | images/s | device |", "|---|---|---|---|---|---|",
           *_feature_rows(kind("test_feature_extraction")), "",
           "**SVM protocol** (synthetic class-structured features of the given size)", "",
           "| size | solver | fits | wall s | s per fit | stages | test error % | chosen log C | device |",
           "|---|---|---|---|---|---|---|---|---|", *_svm_rows(kind("test_svm_protocol"))]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarize([Path(p) for p in sys.argv[1:]]))
