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


def run_command(cwd, *args):
    return subprocess.run([sys.executable, str(EXAMPLES / "train.py"), "--quiet", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_train_script_runs_as_a_command(tmp_path):
    out = run_command(tmp_path, "--model", "mlp", "--max-steps", "3", "--limit", "256",
                      "--plot", "", "--checkpoint", str(tmp_path / "c.zip"))
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout and (tmp_path / "c.zip").exists()


def test_outputs_go_to_a_folder_per_model_and_resume_explains_itself(tmp_path):
    """Defaults write runs/<model>/, so the two models never overwrite each other;
    each wrong --resume ends with one sentence and a suggestion, not a traceback."""
    small = ["--limit", "128", "--batch-size", "32", "--epochs", "1"]
    out = run_command(tmp_path, "--model", "mlp", *small)
    assert out.returncode == 0, out.stderr
    import importlib.util
    plotted = importlib.util.find_spec("matplotlib") is not None   # the examples extra
    assert sorted(p.name for p in (tmp_path / "runs" / "mlp").iterdir()) == \
        (["checkpoint.zip", "training.png"] if plotted else ["checkpoint.zip"])
    if not plotted:
        assert "plot skipped: matplotlib is not installed" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]   # nothing else written
    assert "this run: 4 steps in" in out.stdout
    assert "final test accuracy" in out.stdout and "1 epoch(s), 4 steps in all" in out.stdout

    cases = [  # (arguments, what the one sentence must say)
        (["--model", "mlp", "--resume"], "has already trained 1 epoch(s)"),
        (["--model", "cnn", "--resume"], "there is no checkpoint at runs/cnn/checkpoint.zip"),
        (["--model", "cnn", "--resume", "--checkpoint", "runs/mlp/checkpoint.zip"],
         "cannot be loaded into the cnn model"),
    ]
    for args, message in cases:
        failed = run_command(tmp_path, *small, *args)
        assert failed.returncode != 0
        assert "Traceback" not in failed.stderr, failed.stderr
        assert message in failed.stderr, failed.stderr
        assert "--" in failed.stderr.split(";")[-1]   # the suggestion names an option

    more = run_command(tmp_path, "--model", "mlp", *small[:-2], "--epochs", "2", "--resume")
    assert more.returncode == 0, more.stderr
    assert "this run: 4 steps in" in more.stdout and "4 steps before it" in more.stdout
    assert "2 epoch(s), 8 steps in all" in more.stdout


def test_resume_refuses_a_checkpoint_of_another_model_with_the_same_states(tmp_path):
    """The checkpoint names the model that wrote it; a checkpoint whose states
    happen to fit is still refused when it came from another --model."""
    ckpt = str(tmp_path / "c.zip")
    run_train(tmp_path, "--model", "mlp", "--limit", "64", "--epochs", "1", "--checkpoint", ckpt)
    import zipfile
    with zipfile.ZipFile(ckpt) as z:   # rewrite the recorded name as another model's
        files = {name: z.read(name) for name in z.namelist()}
    import io
    arrays = dict(np.load(io.BytesIO(files["tensor_dict.npz"])))
    arrays["train.model"] = np.array([ord(c) for c in "cnn"], dtype=np.int32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    attrs = json.loads(files["states_attr.json"])
    attrs["train.model"]["shape"] = [3]
    with zipfile.ZipFile(ckpt, "w") as z:
        z.writestr("tensor_dict.npz", buf.getvalue())
        z.writestr("states_attr.json", json.dumps(attrs))
    with pytest.raises(SystemExit, match="written by the cnn model, not mlp"):
        run_train(tmp_path, "--model", "mlp", "--limit", "64", "--epochs", "2", "--resume",
                  "--checkpoint", ckpt)


def test_plot_has_a_title_a_smoothed_loss_and_a_sensible_accuracy_axis(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    seen = {}
    real_savefig = plt.Figure.savefig

    def spy(fig, path, **kw):
        seen["fig"] = fig
        return real_savefig(fig, path, **kw)

    plt.Figure.savefig = spy
    try:
        msg = train.plot(str(tmp_path / "p.png"), list(np.linspace(2.5, 0.2, 100)),
                         [0.951, 0.970], 50, "cnn")
    finally:
        plt.Figure.savefig = real_savefig
    assert msg.startswith("plot written") and (tmp_path / "p.png").stat().st_size > 1000
    ax1, ax2 = seen["fig"].axes
    assert "cnn" in ax1.get_title() and "97.00%" in ax1.get_title()
    assert len(ax1.lines) == 2                      # raw loss and its moving average
    low, high = ax2.get_ylim()
    assert high == 100 and high - low >= 10         # two close points are no cliff
    np.testing.assert_allclose(train.smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_mlp_ops_example_loss_falls():
    import mlp_ops
    losses = mlp_ops.main(steps=300, log_every=0)
    assert losses[-1] < 0.8 * losses[0]


def test_train_refuses_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        train.parse_args(["--epochs", "0"])
    with pytest.raises(SystemExit, match="there is no checkpoint"):
        run_train(tmp_path, "--model", "mlp", "--resume", "--checkpoint", str(tmp_path / "x.zip"))
