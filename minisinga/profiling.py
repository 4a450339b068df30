"""minisinga.profiling: where the time of a training step goes (SINGA's time profiling).

    dev = device.get_default_device()
    dev.SetVerbosity(2)       # 1: forward and backward time; 2: also every kernel launch
    dev.SetSkipIteration(5)   # leave the first 5 steps out (warm-up); 5 is the default
    ...                       # train: model(x, y) step after step, eager or graph mode
    dev.PrintTimeProfiling()  # the mean time per step
    dev.time_profile()        # the same numbers as a dict

What is timed.  Every kernel launch in minisinga goes through one place: eagerly
``_lib.kernel``, which hands the kernel out, and in graph mode ``Graph.run``, which
replays the recorded launches.  While the profiler is on, both time each launch on
the wall clock (on a GPU, between two ``sync()`` calls, since launches there only
queue the work).  A step is one call of a Model's ``train_one_batch``, which opens
and closes it; launches made outside a step (evaluation, or autograd used without a
Model) are not timed.  The first ``skip`` steps are left out: the first step of
graph mode records the graph, and the first steps of any mode warm up the caches
and the memory allocator.

Verbosity, as in SINGA.  1 reports the forward time (launches before the backward
pass starts) and the backward time (every launch from there to the end of the
step: the backward pass, the optimizer's updates, which run as each gradient is
ready, and its step counter).  2 adds
one line per launch of the step, in launch order, and a table by kernel: how often
each runs per step and its share of the step.  What the numbers leave out is the
time between launches: Python (layers, autograd, allocation) in eager mode, which
``graph`` mode removes.  (``python -m minisinga.bench --profile cnn`` prints this
table beside PyTorch's own profile of the same step.)
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

__all__ = ["TimeProfile", "backward_pass", "backpropagating"]

_clock = time.perf_counter


class _Phase(threading.local):
    depth = 0   # backward passes under way in this thread


_phase = _Phase()


@contextmanager
def backward_pass():
    """The engine runs each backward pass inside this (minisinga/engine.py)."""
    _phase.depth += 1
    try:
        yield
    finally:
        _phase.depth -= 1


def backpropagating() -> bool:
    """True while the calling thread runs a backward pass: from the start of
    ``backward``/``gradients`` to their end, including what the caller does with
    each gradient as it is handed out (an optimizer's update)."""
    return _phase.depth > 0


class TimeProfile:
    """The time profile of one device (``Device.set_verbosity`` creates it).

    ``launches``: for each launch position of a step, [kernel name, "forward" or
    "backward", seconds summed over the timed steps].  A step that launches other
    kernels than the first timed one (another model, another batch shape) is still
    added position by position, under the name of the first; profile one kind of
    step at a time."""

    def __init__(self, device, verbosity: int, skip: int = 5):
        self.device = device
        self.verbosity = verbosity
        self.skip = skip
        self.steps_seen = 0     # steps begun since profiling was switched on
        self.steps_timed = 0    # ... and timed (the ones after the first ``skip``)
        self.timing = False     # inside a timed step
        self.launches: list[list] = []
        self._position = 0
        self._backward = False  # the step's backward pass has begun

    # -- steps ---------------------------------------------------------------------
    def begin_step(self) -> None:
        """A training step starts: time its launches unless it is one to skip."""
        self.timing = self.verbosity > 0 and self.steps_seen >= self.skip
        self._position = 0
        self._backward = False

    def end_step(self) -> None:
        """A training step ends: count it (as timed, if it was)."""
        if self.timing:
            self.steps_timed += 1
        self.steps_seen += 1
        self.timing = False

    # -- launches ------------------------------------------------------------------
    def launch(self, name: str, fn, args: tuple, backward: bool):
        """Run ``fn(*args)``, the kernel ``name``, timing it; returns its result.
        ``backward``: launched once the step's backward pass had begun."""
        sync = self.device.sync   # (nothing to wait for on the CPU)
        sync()
        start = _clock()
        result = fn(*args)
        sync()
        seconds = _clock() - start
        pos = self._position
        self._position = pos + 1
        if pos == len(self.launches):
            self.launches.append([name, "backward" if backward else "forward", 0.0])
        self.launches[pos][2] += seconds
        return result

    def wrap(self, name: str, fn):
        """``fn`` timed on every call (how ``_lib.kernel`` hands out eager kernels)."""
        def timed(*args):
            # from the backward pass's first launch on, the rest of the step is backward
            self._backward = backward = self._backward or backpropagating()
            return self.launch(name, fn, args, backward)
        return timed

    # -- results -------------------------------------------------------------------
    def report(self) -> dict:
        """Mean seconds per timed step: ``forward``, ``backward``, ``launches`` (one
        (position, kernel, phase, seconds) per launch of a step) and ``kernels``
        (kernel -> (launches per step, seconds per step), the slowest first)."""
        n = max(self.steps_timed, 1)
        launches = [(i, name, phase, total / n)
                    for i, (name, phase, total) in enumerate(self.launches)]
        kernels: dict[str, list] = {}
        for _, name, _, seconds in launches:
            entry = kernels.setdefault(name, [0, 0.0])
            entry[0] += 1
            entry[1] += seconds
        return {
            "steps": self.steps_timed,
            "forward": sum(s for _, _, phase, s in launches if phase == "forward"),
            "backward": sum(s for _, _, phase, s in launches if phase == "backward"),
            "launches": launches,
            "kernels": dict(sorted(((k, tuple(v)) for k, v in kernels.items()),
                                   key=lambda kv: -kv[1][1])),
        }

    def lines(self) -> list[str]:
        """What ``PrintTimeProfiling`` prints (SINGA's format, then the table)."""
        r = self.report()
        if r["steps"] == 0:
            return ["Time Profiling: no step timed yet (steps seen: "
                    f"{self.steps_seen}, skipped: the first {self.skip})"]
        out = [f"Time Profiling (mean of {r['steps']} steps):",
               f"Forward Propagation Time : {r['forward']:.6g} sec",
               f"Backward Propagation Time : {r['backward']:.6g} sec"]
        if self.verbosity >= 2:
            out += [f"OP_ID{i}. {name} : {seconds:.6g} sec"
                    for i, name, _, seconds in r["launches"]]
            total = r["forward"] + r["backward"]
            out.append(f"{'kernel':40s} {'launches':>8s} {'ms/step':>9s} {'share':>6s}")
            for name, (count, seconds) in r["kernels"].items():
                share = seconds / total if total > 0 else 0.0
                out.append(f"{name:40s} {count:8d} {seconds * 1e3:9.3f} {share:6.1%}")
        return out
