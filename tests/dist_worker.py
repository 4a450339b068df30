"""Run under mpiexec by tests/test_dist.py: train with examples/train_dist.py and
write this rank's parameters, optimizer states and losses to OUT/rank<r>.npz.

    mpiexec -n 2 python tests/dist_worker.py OUT [--fail-at STEP --fail-rank R] -- ARGS
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

import train_dist  # noqa: E402

from minisinga import tensor  # noqa: E402


def main():
    out, rest = sys.argv[1], sys.argv[2:]
    split = rest.index("--")
    ours, args = rest[:split], rest[split + 1:]
    fail_at = int(ours[ours.index("--fail-at") + 1]) if "--fail-at" in ours else None
    fail_rank = int(ours[ours.index("--fail-rank") + 1]) if "--fail-rank" in ours else 0

    def hook(step, rank):
        if step == fail_at and rank == fail_rank:
            raise RuntimeError(f"planted failure on rank {rank} at step {step}")

    result = train_dist.main(args, step_hook=hook)
    params = {k: tensor.to_numpy(v) for k, v in result["model"].get_params().items()}
    states = {k: tensor.to_numpy(v) for k, v in result["optimizer"].get_states().items()}
    np.savez(os.path.join(out, f"rank{result['rank']}.npz"),
             losses=np.array(result["losses"]), accuracy=np.array(result["accuracies"]),
             **{f"p:{k}": v for k, v in params.items()},
             **{f"s:{k}": v for k, v in states.items()})


if __name__ == "__main__":
    main()
