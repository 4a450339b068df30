"""Export the digits CNN to ONNX, check it with onnxruntime, import it back and
fine-tune it (SINGA's examples/onnx/training, on minisinga).

    pip install -e ".[onnx,examples]" && python examples/onnx_finetune.py

1. Train the CNN of examples/train.py briefly on the shipped digits (or load a
   checkpoint that train.py wrote: --checkpoint checkpoint.zip).
2. Export it with ``sonnx.export`` and save ``cnn.onnx``.
3. Run the file in onnxruntime and compare with minisinga's own forward.
4. Import it with ``sonnx.SONNXModel``: a Model whose parameters are the ONNX
   initializers, train it a few more steps with SGD, and print the accuracy
   before export, after import and after fine-tuning.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import train  # noqa: E402
from models import CNN  # noqa: E402

from minisinga import autograd, opt, sonnx, tensor  # noqa: E402
from minisinga.datasets import load_mnist  # noqa: E402


class FineTune(sonnx.SONNXModel):
    """The imported CNN with a training step: softmax cross-entropy and SGD."""

    def train_one_batch(self, x, y):
        out = self.forward(x)
        loss = autograd.softmax_cross_entropy(out, y)
        self.optimizer(loss)
        return out, loss

    def set_optimizer(self, optimizer):
        self.optimizer = optimizer


def accuracy(forward, x, y, batch: int) -> float:
    """The fraction of digits whose largest output is their label (no training)."""
    old = autograd.training
    autograd.training = False
    try:
        hits = 0
        for s in range(0, len(x), batch):
            out = forward(tensor.Tensor(data=x[s:s + batch], requires_grad=False)).to_numpy()
            hits += int((out.argmax(1) == y[s:s + batch]).sum())
    finally:
        autograd.training = old
    return hits / len(x)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="", help="a checkpoint of train.py's CNN to start "
                                                    "from (default: train one now)")
    p.add_argument("--epochs", type=int, default=1, help="epochs of the first training")
    p.add_argument("--train-limit", type=int, default=2000,
                   help="training digits used by the first training")
    p.add_argument("--steps", type=int, default=50, help="fine-tuning steps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01, help="fine-tuning learning rate")
    p.add_argument("--out", default="cnn.onnx", help="where to save the ONNX model")
    args = p.parse_args(argv)

    x_train, y_train, x_test, y_test = load_mnist()
    if args.checkpoint:
        net = CNN()
        net.compile([tensor.Tensor((args.batch_size, 1, 28, 28))], is_train=False)
        net.load_states(args.checkpoint)
        print(f"1. loaded the CNN from {args.checkpoint}")
    else:
        result = train.main(["--model", "cnn", "--epochs", str(args.epochs), "--limit",
                             str(args.train_limit), "--checkpoint", "", "--plot", "",
                             "--quiet", "--batch-size", str(args.batch_size)])
        net = result["model"]
        print(f"1. trained the CNN for {args.epochs} epoch(s) on {args.train_limit} digits")
    net.eval()
    before = accuracy(net.forward, x_test, y_test, 500)

    # 2. export: the graph of one forward pass over a batch of test digits
    batch = x_test[:500]
    xb = tensor.Tensor(data=batch, requires_grad=False)
    onnx_model = sonnx.export(net, [xb], args.out)
    ops = [n.op_type for n in onnx_model.graph.node]
    print(f"2. exported {len(ops)} nodes ({', '.join(ops)}) to {args.out}, "
          f"opset {sonnx.OPSET}")

    # 3. onnxruntime runs the file; minisinga's forward is the reference
    import onnxruntime
    sess = onnxruntime.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    (ort_out,) = sess.run(None, {"input_0": batch})
    err = float(np.abs(ort_out - net.forward(xb).to_numpy()).max())
    if err > 1e-4:
        raise SystemExit(f"onnxruntime disagrees with minisinga: max |diff| = {err:.3g}")
    print(f"3. onnxruntime agrees with minisinga: max |diff| = {err:.2e}")

    # 4. import as a trainable Model and fine-tune
    tuned = FineTune(sonnx.load(args.out))
    tuned.set_optimizer(opt.SGD(lr=args.lr, momentum=0.9))
    after_import = accuracy(tuned.forward, x_test, y_test, 500)
    tuned.train()
    rng = np.random.default_rng(1)
    bs, losses = args.batch_size, []
    for _ in range(args.steps):
        idx = rng.integers(0, len(x_train), bs)
        tx = tensor.Tensor(data=x_train[idx], requires_grad=False)
        ty = tensor.Tensor(data=y_train[idx].astype(np.int32), requires_grad=False)
        _, loss = tuned(tx, ty)
        losses.append(float(loss.to_numpy().reshape(-1)[0]))
    tuned.eval()
    after = accuracy(tuned.forward, x_test, y_test, 500)
    print(f"4. fine-tuned the imported model {args.steps} steps: loss {losses[0]:.4f} -> "
          f"{losses[-1]:.4f}")
    print(f"accuracy before export {before:.4f}")
    print(f"accuracy after import {after_import:.4f}")
    print(f"accuracy after fine-tuning {after:.4f}")
    return {"before": before, "after_import": after_import, "after": after, "error": err}


if __name__ == "__main__":
    main()
