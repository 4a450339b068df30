"""The examples run, their first losses are pinned, and training resumes exactly.

To update the pinned losses after a deliberate change (new init, new kernel
order), run:

    MINISINGA_UPDATE_PINS=1 pytest tests/test_examples.py -k pinned
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minisinga import tensor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PINS = Path(__file__).resolve().parent / "data" / "pinned_losses.json"
sys.path.insert(0, str(EXAMPLES))

import train  # noqa: E402


def run_train(tmp_path, *args):
    argv = ["--quiet", "--plot", "", "--checkpoint", str(tmp_path / "ckpt.zip"), *args]
    return train.main(argv)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_first_five_losses_are_pinned(model, tmp_path):
    result = run_train(tmp_path, "--model", model, "--max-steps", "5", "--limit", "640",
                       "--batch-size", "32", "--seed", "0")
    losses = result["losses"][:5]
    assert len(losses) == 5 and all(np.isfinite(losses))
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    if os.environ.get("MINISINGA_UPDATE_PINS"):
        pins[model] = losses
        PINS.parent.mkdir(exist_ok=True)
        PINS.write_text(json.dumps(pins, indent=2) + "\n")
    assert model in pins, f"no pinned losses for {model}: run MINISINGA_UPDATE_PINS=1 pytest {__file__}"
    np.testing.assert_allclose(losses, pins[model], rtol=1e-4, atol=1e-5)


def test_the_gpu_option_trains_the_cpus_model(tmp_path, monkeypatch):
    """``--device gpu`` with the emulated GPU standing in for a real one: the
    seed reaches the device the model lives on, so its losses are the CPU's
    (the model's parameters come from that device's random numbers)."""
    import shutil

    from minisinga import gpu
    if not shutil.which("g++"):
        pytest.skip("no g++ to build the emulated CUDA kernels")
    full = train.load_mnist

    def small_test_set(data=None):   # the emulator is slow: 64 test digits
        x, y, xt, yt = full(data)
        return x, y, xt[:64], yt[:64]

    monkeypatch.setattr(train, "load_mnist", small_test_set)
    args = ["--model", "mlp", "--max-steps", "3", "--limit", "96", "--batch-size", "32",
            "--seed", "3", "--checkpoint", ""]
    cpu = run_train(tmp_path, *args)
    monkeypatch.setattr(train, "make_device", lambda name: gpu.emulated_gpu())
    emulated = run_train(tmp_path, *args, "--device", "gpu")
    assert all(p.device is gpu.emulated_gpu() for p in emulated["model"].get_params().values())
    np.testing.assert_allclose(emulated["losses"], cpu["losses"], rtol=1e-5)
    assert emulated["accuracies"] == cpu["accuracies"]


@pytest.mark.parametrize("graph", [True, False])
def test_resume_equals_straight_training(graph, tmp_path):
    common = ["--model", "mlp", "--limit", "256", "--batch-size", "32", "--seed", "3"]
    if not graph:
        common.append("--no-graph")
    straight = run_train(tmp_path / "a", *common, "--epochs", "2", "--checkpoint", "")
    (tmp_path / "b").mkdir()
    ckpt = str(tmp_path / "b" / "ckpt.zip")
    run_train(tmp_path / "b", *common, "--epochs", "1", "--checkpoint", ckpt)
    resumed = run_train(tmp_path / "b", *common, "--epochs", "2", "--checkpoint", ckpt, "--resume")
    a = {k: tensor.to_numpy(v) for k, v in straight["model"].get_states().items()}
    b = {k: tensor.to_numpy(v) for k, v in resumed["model"].get_states().items()}
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-7, err_msg=k)
    np.testing.assert_allclose(straight["losses"], resumed["losses"], rtol=1e-6)


def test_train_script_runs_as_a_command(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / "train.py"), "--model", "mlp",
                          "--max-steps", "3", "--limit", "256", "--quiet", "--plot", "",
                          "--checkpoint", str(tmp_path / "c.zip")],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout and (tmp_path / "c.zip").exists()


def test_mlp_ops_example_loss_falls():
    import mlp_ops
    losses = mlp_ops.main(steps=300, log_every=0)
    assert losses[-1] < 0.8 * losses[0]


def test_train_refuses_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        train.parse_args(["--epochs", "0"])
    with pytest.raises(SystemExit, match="no checkpoint"):
        run_train(tmp_path, "--model", "mlp", "--resume", "--checkpoint", str(tmp_path / "x.zip"))
