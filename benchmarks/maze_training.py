"""Training throughput of the paper's maze solver: recur's trainer vs a plain fp32 loop.

The model is the paper's (width 128, effective depth 20, recurrent), trained on batches of
50 mazes of 32×32 pixels, one SGD step per batch.  Both are measured in the same run:

* plain: float32, NCHW, cross-entropy over all pixels, optimizer step: the usual loop;
* recur: ``recur.train.train`` itself (bf16 autocast where the CPU/GPU has it,
  channels_last, masked loss, lr schedule, device-resident data), samples/s as recorded
  in its run record; optionally with ``torch.compile``.

It also times the step's dominant operation alone, one 3×3 convolution 128→128 on a batch
of 50 32×32 maps (forward and both backward passes), in fp32 NCHW and in recur's precision
and layout: 16 of the step's 20 convolutions are of this shape and convolutions take over
90% of a step, so that ratio is about the most a change of precision and layout can give.

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

from recur.models import build_model
from recur.profiles import make_config
from recur.provenance import git_commit, versions
from recur.results import write_record
from recur.train import resolve_device, train

ROOT = Path(__file__).resolve().parent.parent
BATCH = 50


def plain_fp32(steps: int, device) -> float:
    torch.manual_seed(0)
    net = build_model("maze", recurrent=True, depth=20, dataset="mazes").to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4)
    x = torch.rand(BATCH, 3, 32, 32, device=device)
    y = torch.randint(0, 2, (BATCH, 32, 32), device=device)

    def step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    float(loss)
    return BATCH * steps / (time.perf_counter() - t0)


def conv_ceiling(device, bf16: bool, reps: int = 6) -> dict:
    """Milliseconds per 3×3 conv 128→128, batch 50, 32×32 (forward + input and weight
    gradients): fp32 NCHW vs recur's (bf16 autocast when ``bf16``, channels_last)."""
    def time_conv(dtype, memory_format):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(BATCH, 128, 32, 32, generator=g).to(device, dtype, memory_format=memory_format)
        grad = torch.randn(BATCH, 128, 32, 32, generator=g).to(device, dtype, memory_format=memory_format)
        w = torch.randn(128, 128, 3, 3, generator=g).to(device, dtype, memory_format=memory_format)
        x.requires_grad_(True)
        w.requires_grad_(True)

        def once():
            out = F.conv2d(x, w, padding=1)
            torch.autograd.grad(out, (x, w), grad)

        once()
        once()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(reps):
            once()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return 1000 * (time.perf_counter() - t0) / reps

    fp32 = time_conv(torch.float32, torch.contiguous_format)
    ours = time_conv(torch.bfloat16 if bf16 else torch.float32, torch.channels_last)
    return {"conv_fp32_ms": round(fp32, 2), "conv_recur_ms": round(ours, 2),
            "conv_ratio": round(fp32 / ours, 2)}


def recur_trainer(steps: int, device, compile: bool, tmp: Path) -> dict:
    """One epoch of recur's trainer on steps+2 batches; the first two batches are warm-up
    (so compile time is excluded), measured from the run record's epoch time."""
    base = make_config("paper", "mazes", family="maze", recurrent=True, depth=20,
                       n_train=BATCH * (steps + 2), n_test=BATCH, epochs=1, extra_iterations=0,
                       device=str(device), compile=compile)
    warm = train(base.replace(n_train=BATCH * 2), results_dir=tmp / "warm", progress="none")
    record = train(base, results_dir=tmp / "run", progress="none")
    return {"samples_per_s": record["samples_per_s"], "bf16": record["bf16"],
            "warmup_samples_per_s": warm["samples_per_s"]}


def accuracy_check(tmp: Path) -> list[dict]:
    rows = []
    for precision in ("fp32", "auto"):
        for seed in (0, 1):
            c = make_config("quick", "mazes", family="maze", recurrent=True, depth=20,
                            seed=seed, precision=precision)
            r = train(c, results_dir=tmp / "acc", progress="none")
            rows.append({"precision": precision, "bf16": r["bf16"], "seed": seed,
                         "test_acc": r["test_acc"], "seconds": r["seconds"]})
            print(f"quick depth-20 recurrent, precision {precision} (bf16={r['bf16']}), seed {seed}: "
                  f"test {r['test_acc']:.1f}% in {r['seconds']:.0f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--accuracy", action="store_true", help="also check fp32 vs bf16 accuracy")
    parser.add_argument("--output", default=str(ROOT / "results" / "benchmarks" / "maze_training.json"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain = plain_fp32(args.steps, device)
        print(f"plain fp32 loop:        {plain:8.1f} samples/s  ({device})")
        ours = recur_trainer(args.steps, device, False, tmp / "eager")
        print(f"recur trainer:          {ours['samples_per_s']:8.1f} samples/s  "
              f"(bf16 {ours['bf16']}, channels_last)  = {ours['samples_per_s'] / plain:.2f}x plain")
        conv = conv_ceiling(device, ours["bf16"])
        print(f"one 3x3 conv 128->128 (fwd + bwd): fp32 NCHW {conv['conv_fp32_ms']:.1f} ms, "
              f"recur {conv['conv_recur_ms']:.1f} ms = {conv['conv_ratio']:.2f}x "
              f"(about the ceiling for the step's speed-up)")
        record = {"benchmark": "maze_training", "model": "maze solver, width 128, depth 20, recurrent",
                  "batch": BATCH, "image": 32, "steps": args.steps, "device": str(device),
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
