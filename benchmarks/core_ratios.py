"""Issue 2's performance ratios, measured side by side in one run (printed, never asserted).

1. explicit LSTM forward+backward against torch.nn.LSTM (fused), I = H = 128, B = 64, T = 100;
2. one training step with gradient probes on against the same step with probes off.

Interleaved repeats and medians, so that a busy machine slows both sides alike.
Run: python benchmarks/core_ratios.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import torch

from rnnbench.core.layers import ExplicitStack, FusedStack, StateRecorder
from rnnbench.core.models import build_model
from rnnbench.core.tasks import TASKS


def interleaved(fns: dict, repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds per call of each function, the calls interleaved round by round."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    gc.collect()
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def lstm_ratio(repeats: int) -> dict[str, float]:
    B, T, H = 64, 100, 128
    x = torch.randn(B, T, H)
    stacks = {
        "fused": FusedStack("lstm", H, H),
        "explicit": ExplicitStack("lstm", H, H, premul=False),
        "explicit-premul": ExplicitStack("lstm", H, H, premul=True),
        "explicit-bptt": ExplicitStack("lstm", H, H, premul=True, bptt=True),
    }
    return interleaved({name: (lambda s=s: s(x)[0].sum().backward()) for name, s in stacks.items()}, repeats)


def probe_ratio(repeats: int) -> dict[str, float]:
    task = TASKS["adding"]
    model = build_model(task, "lstm", 128, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = task.generate(64, 100, torch.Generator().manual_seed(0))

    def step(probed: bool) -> None:
        recorder = StateRecorder() if probed else None
        opt.zero_grad()
        task.loss(model(x, recorder=recorder), y).backward()
        if recorder is not None:
            from rnnbench.training.probes import state_gradient_records

            state_gradient_records(recorder, 0)
        opt.step()

    return interleaved({"probes off": lambda: step(False), "probes on": lambda: step(True)}, repeats)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: two threads on a busy 2-core machine stall)"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    t = lstm_ratio(args.repeats)
    for name, s in t.items():
        print(f"LSTM fwd+bwd I=H=128 B=64 T=100  {name:16s} {s * 1e3:8.1f} ms   {s / t['fused']:.2f}x fused")
    t = probe_ratio(args.repeats)
    print(
        f"training step, probes off {t['probes off'] * 1e3:.1f} ms, on {t['probes on'] * 1e3:.1f} ms: "
        f"{t['probes on'] / t['probes off']:.2f}x"
    )


if __name__ == "__main__":
    main()
