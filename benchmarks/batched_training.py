"""Many seeds at once: samples/s of recur.batched against one-by-one training (issue 31).

For each family (the quick profile's recurrent MLP and ConvNet on the digits, the maze
solver on small mazes), 1, 4, 16 and 64 seeds of one config train as one
batched net (``recur.batched.train_batched``) and, in the same run, a few seeds train one
by one (``recur.train.train``), four epochs each.  An epoch's time is the fastest of the
second to fourth (the first builds the kernels; on a shared machine the minimum is the
least disturbed).  Reported: samples/s per seed and in total, and the total as a ratio to one by
one's (which trains one seed at a time: its total is one seed's rate).  On the CPU
always, and on the GPU too when there is one, in the quick profile's precision (``auto``:
bf16 autocast where the CPU or GPU has bf16 units).

    nice .venv/bin/python benchmarks/batched_training.py            # ~5 min on 2 cores
    nice .venv/bin/python benchmarks/batched_training.py --quick    # smoke run, seconds

Writes results/benchmarks/batched_<cpu|cuda>.json, which ``recur.batched.worth_batching``
reads; ``--quick`` writes nothing unless ``--output`` names a folder.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from recur import batched
from recur.devices import use_bf16
from recur.profiles import make_config
from recur.provenance import git_commit, versions
from recur.results import write_record
from recur.train import train

ROOT = Path(__file__).resolve().parent.parent
#: family -> (experiment, effective depth, training steps per epoch): enough steps that
#: an epoch lasts a tenth of a second or more on a 2-core CPU (records keep epoch times to
#: the millisecond)
FAMILIES = {"mlp": ("classification", 6, 48), "convnet": ("classification", 6, 12),
            "maze": ("mazes", 12, 18)}


def cpu_model() -> tuple[str, bool]:
    """(lscpu's model name, whether the CPU has AVX-512 BF16)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        out = ""
    model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                  if line.startswith("Model name")), platform.processor())
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    return model, "avx512_bf16" in flags


def config(family: str, device: str, steps: int, seed: int = 0):
    experiment, depth, _ = FAMILIES[family]
    c = make_config("quick", experiment, family=family, recurrent=True, depth=depth, seed=seed,
                    device=device, epochs=4, extra_iterations=0)
    split = {"split_seed": seed} if experiment == "classification" else {}
    return c.replace(n_train=c.batch_size * steps, n_test=c.batch_size, **split)


def timed_epoch(record: dict) -> float:
    """The fastest epoch after the first."""
    return min(h["seconds"] for h in record["metrics"]["history"][1:])


def one_by_one(family: str, device: str, steps: int, seeds: int, tmp: Path) -> float:
    """Samples/s of the trainer on one seed at a time (over ``seeds`` seeds)."""
    configs = [config(family, device, steps, s) for s in range(100, 100 + seeds)]
    records = [train(c, results_dir=tmp, progress="none") for c in configs]
    return sum(c.n_train for c in configs) / sum(map(timed_epoch, records))


def together(family: str, device: str, steps: int, n: int, tmp: Path) -> float:
    """Total samples/s of ``n`` seeds trained as one batched net."""
    configs = [config(family, device, steps, s) for s in range(n)]
    records = batched.train_batched(configs, results_dir=tmp, progress="none")
    return n * configs[0].n_train / timed_epoch(records[0])


def measure(device: str, counts, steps_scale: float, ref_seeds: int, tmp: Path) -> list[dict]:
    rows = []
    for family, (_, _, steps) in FAMILIES.items():
        steps = max(1, round(steps * steps_scale))
        alone = one_by_one(family, device, steps, ref_seeds, tmp / f"{family}-alone")
        for n in counts:
            t0 = time.perf_counter()
            total = together(family, device, steps, n, tmp / f"{family}-{n}")
            rows.append({"family": family, "seeds": n, "steps_per_epoch": steps,
                         "batch": config(family, device, steps).batch_size,
                         "one_by_one_samples_per_s": round(alone, 1),
                         "total_samples_per_s": round(total, 1),
                         "per_seed_samples_per_s": round(total / n, 1),
                         "total_ratio": round(total / alone, 3),
                         "per_seed_ratio": round(total / n / alone, 3),
                         "wall_s": round(time.perf_counter() - t0, 1)})
            r = rows[-1]
            print(f"{device:5} {family:8} {n:3} seeds: {r['total_samples_per_s']:9.1f} samples/s "
                  f"in total, {r['per_seed_samples_per_s']:8.1f} per seed; one by one "
                  f"{r['one_by_one_samples_per_s']:8.1f}: x{r['total_ratio']:.2f} in total",
                  flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 and 4 seeds")
    parser.add_argument("--output", default=None,
                        help="folder for batched_<device>.json (default results/benchmarks; "
                             "--quick: none)")
    args = parser.parse_args()
    counts, scale, ref = ((1, 4), 0.5, 1) if args.quick else ((1, 4, 16, 64), 1.0, 3)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out = Path(args.output) if args.output else (None if args.quick else
                                                 ROOT / "results" / "benchmarks")
    model, bf16_units = cpu_model()
    for device in devices:
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="recur-batched-") as tmp:
            os.environ["RECUR_CACHE"] = str(Path(tmp) / "cache")  # mazes made here, not kept
            rows = measure(device, counts, scale, ref, Path(tmp))
        record = {"benchmark": "batched_training", "device": device, "quick": args.quick,
                  "cpu_model": model, "avx512_bf16": bf16_units, "cpus": os.cpu_count(),
                  "torch_threads": torch.get_num_threads(),
                  "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
                  "precision": "auto",
                  "bf16": use_bf16("auto", torch.device(device)),
                  "nets": {f: f"quick profile, recurrent, depth {d}" for f, (_, d, _) in
                           FAMILIES.items()},
                  "load_average_before": [round(v, 2) for v in load_before],
                  "load_average_after": [round(v, 2) for v in os.getloadavg()],
                  "seconds": round(time.perf_counter() - t0, 1), "rows": rows,
                  "git_commit": git_commit(), **versions()}
        if out is not None:
            write_record(out / f"batched_{device}.json", record)
            print(f"written {out / f'batched_{device}.json'}")


if __name__ == "__main__":
    main()
