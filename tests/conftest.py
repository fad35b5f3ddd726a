import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import alibench.experiments  # noqa: F401  (registers every experiment, as the CLI does)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ALIBENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))

torch.set_num_threads(min(2, torch.get_num_threads()))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real image files (../shared/data); CI always has them."""
    if not (SHARED_DATA / "cifar10-real-5k.npz").exists():
        pytest.skip(f"real data folder {SHARED_DATA} not found")
    return SHARED_DATA


def cli(*args, cwd=None, env=None, timeout=600):
    """Run ``python -m alibench.run`` as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "alibench.run", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def run_main(capsys, *args):
    """The CLI's entry point in this process (fast); exits and output as a user sees them."""
    from alibench.cli import main
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:        # argparse's refusals
        rc = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, rc, out, err)


def assert_one_line_error(proc, *fragments):
    """A refused input: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    for frag in fragments:
        assert frag in err, err
    return err


def network_param_counts(nets) -> dict[str, int]:
    """Parameters of each of ALI's networks, keyed as the hand-computed tables."""
    from alibench.models.layers import count_params
    d = nets.discriminator
    return {"encoder": count_params(nets.encoder), "decoder": count_params(nets.decoder),
            "x_net": count_params(d.x_net), "z_net": count_params(d.z_net),
            "joint": count_params(d.joint) + count_params(d.head)}
