"""Training throughput of the paper's maze solver: recur's trainer vs a plain fp32 loop.

The model is the paper's (width 128, effective depth 20, recurrent), trained on batches of
50 mazes of 32×32 pixels, one SGD step per batch.  Both are measured in the same run:

* plain: float32, NCHW, cross-entropy over all pixels, optimizer step: the usual loop;
* recur: ``recur.train.train`` itself (bf16 autocast where the CPU/GPU has it,
  channels_last, masked loss, lr schedule, device-resident data), samples/s as recorded
  in its run record; optionally with ``torch.compile``.

On a CPU it also profiles a step in recur's precision and layout and reports the time spent
inside convolutions: a step made of nothing but those convolutions bounds the speed-up any
trainer can reach without changing the model's arithmetic.

With ``--accuracy`` it also trains the quick profile's depth-20 solvers in float32 and in
recur's default precision over two seeds, to check that the speed costs no accuracy.

    .venv/bin/python benchmarks/maze_training.py [--steps 8] [--compile] [--accuracy]

Writes results/benchmarks/maze_training.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from recur.devices import resolve_device
from recur.models import build_model
from recur.profiles import make_config
from recur.provenance import git_commit, versions
from recur.results import write_record
from recur.train import train

ROOT = Path(__file__).resolve().parent.parent
BATCH = 50


def solver_step(device, *, ours: bool, bf16: bool = False):
    """One SGD step of the paper's solver on a fixed batch, as a function: ``ours=False`` the
    plain loop's (fp32, NCHW, cross-entropy over all pixels), ``ours=True`` recur's precision
    and layout (bf16 autocast when ``bf16``, channels_last, the masked maze loss)."""
    from recur.losses import maze_loss

    torch.manual_seed(0)
    net = build_model("maze", recurrent=True, depth=20, dataset="mazes").to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4)
    y = torch.randint(0, 2, (BATCH, 32, 32), device=device)
    if not ours:
        x = torch.rand(BATCH, 3, 32, 32, device=device)

        def step():
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step
    net = net.to(memory_format=torch.channels_last)
    x = (torch.rand(BATCH, 3, 32, 32, device=device) > 0.5).float()
    x = x.contiguous(memory_format=torch.channels_last)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = maze_loss(net(x), y, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def plain_fp32(steps: int, device) -> float:
    step = solver_step(device, ours=False)
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    float(loss.detach())
    return BATCH * steps / (time.perf_counter() - t0)


def conv_share(device, bf16: bool, plain_samples_per_s: float, steps: int = 3) -> dict:
    """Milliseconds per step spent inside convolutions (forward and backward, from the
    profiler) when the step runs in recur's precision and layout, and the speed-up over the
    plain loop that a step made of those convolutions alone would reach: a ceiling for any
    trainer that keeps the model's arithmetic.  CPU only."""
    from torch.profiler import ProfilerActivity, profile

    step = solver_step(device, ours=True, bf16=bf16)
    for _ in range(2):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        step_ms = 1000 * (time.perf_counter() - t0) / steps
    conv_us = sum(e.self_cpu_time_total for e in prof.key_averages()
                  if e.key in ("aten::mkldnn_convolution", "aten::convolution_backward"))
    conv_ms = conv_us / 1000 / steps
    plain_ms = 1000 * BATCH / plain_samples_per_s
    return {"conv_ms_per_step": round(conv_ms, 1), "profiled_step_ms": round(step_ms, 1),
            "conv_share": round(conv_ms / step_ms, 3),
            "speedup_ceiling": round(plain_ms / conv_ms, 2)}


def recur_trainer(steps: int, device, compile: bool, tmp: Path) -> dict:
    """One epoch of recur's trainer on steps+2 batches; the first two batches are warm-up
    (so compile time is excluded), measured from the run record's epoch time."""
    base = make_config("paper", "mazes", family="maze", recurrent=True, depth=20,
                       n_train=BATCH * (steps + 2), n_test=BATCH, epochs=1, extra_iterations=0,
                       device=str(device), compile=compile)
    warm = train(base.replace(n_train=BATCH * 2), results_dir=tmp / "warm", progress="none")
    record = train(base, results_dir=tmp / "run", progress="none")
    return {"samples_per_s": record["metrics"]["samples_per_s"],
            "bf16": record["provenance"]["bf16"],
            "warmup_samples_per_s": warm["metrics"]["samples_per_s"]}


def accuracy_check(tmp: Path) -> list[dict]:
    rows = []
    for precision in ("fp32", "auto"):
        for seed in (0, 1):
            c = make_config("quick", "mazes", family="maze", recurrent=True, depth=20,
                            seed=seed, precision=precision)
            record = train(c, results_dir=tmp / "acc", progress="none")
            r = {**record["metrics"], "bf16": record["provenance"]["bf16"]}
            rows.append({"precision": precision, "bf16": r["bf16"], "seed": seed,
                         "test_acc": r["test_acc"], "seconds": r["seconds"]})
            print(f"quick depth-20 recurrent, precision {precision} (bf16={r['bf16']}), "
                  f"seed {seed}: test {r['test_acc']:.1f}% in {r['seconds']:.0f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--accuracy", action="store_true", help="also check fp32 vs bf16 accuracy")
    parser.add_argument("--output",
                        default=str(ROOT / "results" / "benchmarks" / "maze_training.json"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain = plain_fp32(args.steps, device)
        print(f"plain fp32 loop:        {plain:8.1f} samples/s  ({device})")
        ours = recur_trainer(args.steps, device, False, tmp / "eager")
        print(f"recur trainer:          {ours['samples_per_s']:8.1f} samples/s  "
              f"(bf16 {ours['bf16']}, channels_last)  = {ours['samples_per_s'] / plain:.2f}x plain")
        conv = conv_share(device, ours["bf16"], plain) if device.type == "cpu" else {}
        if conv:
            print("in recur's precision and layout, convolutions take "
                  f"{conv['conv_ms_per_step']:.0f} ms of a {conv['profiled_step_ms']:.0f} ms "
                  f"step ({100 * conv['conv_share']:.0f}%); a step of convolutions alone would be "
                  f"{conv['speedup_ceiling']:.2f}x plain")
        record = {"benchmark": "maze_training",
                  "model": "maze solver, width 128, depth 20, recurrent", "batch": BATCH,
                  "image": 32, "steps": args.steps, "device": str(device),
                  "plain_fp32_samples_per_s": round(plain, 1),
                  "recur_samples_per_s": ours["samples_per_s"], "recur_bf16": ours["bf16"],
                  "speedup": round(ours["samples_per_s"] / plain, 2), **conv}
        if args.compile:
            comp = recur_trainer(args.steps, device, True, tmp / "compiled")
            print(f"recur trainer, compiled: {comp['samples_per_s']:8.1f} samples/s  "
                  f"= {comp['samples_per_s'] / plain:.2f}x plain")
            record["recur_compiled_samples_per_s"] = comp["samples_per_s"]
            record["speedup_compiled"] = round(comp["samples_per_s"] / plain, 2)
        if args.accuracy:
            record["accuracy_check"] = accuracy_check(tmp)
    record.update(machine=platform.machine(), cpus=os.cpu_count(),
                  gpu=torch.cuda.get_device_name() if device.type == "cuda" else None,
                  git_commit=git_commit(), **versions())
    out = Path(args.output)
    write_record(out, record)
    print(f"written {out}")


if __name__ == "__main__":
    main()
