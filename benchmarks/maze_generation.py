"""Maze generation throughput: recur.mazes vs a plain one-maze-at-a-time Python DFS.

Both produce the same things: the maze, its solution labels and 2× images.  Run:

    .venv/bin/python benchmarks/maze_generation.py [--quick]

Prints mazes/s for 6×6 and 29×29 cells, the paper's 180,000 mazes, and the speed-up over
the plain loop measured in the same run; writes results/benchmarks/maze_generation.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path

import numpy as np

from recur import mazes
from recur.provenance import git_commit, versions
from recur.results import write_record

ROOT = Path(__file__).resolve().parent.parent
RENDER_BATCH = 256  # images are made batch by batch, as a data loader does


def plain_dfs(n: int, cells: int, seed: int):
    """One maze at a time in pure Python: recursive backtracker with an explicit stack,
    solution from the search tree's parent pointers, 2× image with np.kron."""
    rng = random.Random(seed)
    G = 2 * cells + 1
    out = []
    for _ in range(n):
        start = (rng.randrange(cells), rng.randrange(cells))
        end = start
        while end == start:
            end = (rng.randrange(cells), rng.randrange(cells))
        grid = np.zeros((G, G), dtype=bool)
        parent = {start: None}
        stack = [start]
        grid[2 * start[0] + 1, 2 * start[1] + 1] = True
        while stack:
            r, c = stack[-1]
            options = [(r + dr, c + dc) for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1))
                       if 0 <= r + dr < cells and 0 <= c + dc < cells
                       and (r + dr, c + dc) not in parent]
            if not options:
                stack.pop()
                continue
            nr, nc = rng.choice(options)
            parent[(nr, nc)] = (r, c)
            grid[2 * nr + 1, 2 * nc + 1] = True
            grid[r + nr + 1, c + nc + 1] = True
            stack.append((nr, nc))
        path = np.zeros((G, G), dtype=bool)
        node = end
        while node is not None:
            path[2 * node[0] + 1, 2 * node[1] + 1] = True
            if parent[node] is not None:
                pr, pc = parent[node]
                path[node[0] + pr + 1, node[1] + pc + 1] = True
            node = parent[node]
        image = np.zeros((3, 2 * G + 2, 2 * G + 2), dtype=np.float32)
        image[:, 1:-1, 1:-1] = np.kron(grid, np.ones((2, 2)))
        target = np.zeros((2 * G + 2, 2 * G + 2), dtype=np.uint8)
        target[1:-1, 1:-1] = np.kron(path, np.ones((2, 2), dtype=np.uint8))
        out.append((image, target))
    return out


def ours(n: int, cells: int, seed: int) -> None:
    batch = mazes.generate(n, cells, seed)
    for i in range(0, n, RENDER_BATCH):
        mazes.render(batch[i:i + RENDER_BATCH], scale=2)


def rate(fn, n: int, repeats: int) -> float:
    """Best of ``repeats`` runs, in mazes per second."""
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        fn(r)
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer mazes, one repeat")
    parser.add_argument("--output",
                        default=str(ROOT / "results" / "benchmarks" / "maze_generation.json"))
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    rows = []
    for cells, n_ours, n_plain in ((6, 200_000, 2_000), (29, 10_000, 100)):
        if args.quick:
            n_ours, n_plain = n_ours // 10, n_plain // 4
        fast = rate(lambda r: ours(n_ours, cells, r), n_ours, repeats)
        slow = rate(lambda r: plain_dfs(n_plain, cells, r), n_plain, repeats)
        rows.append({"cells": cells, "recur_mazes_per_s": round(fast),
                     "plain_mazes_per_s": round(slow), "speedup": round(fast / slow, 1),
                     "n_recur": n_ours, "n_plain": n_plain})
        print(f"{cells:2d}x{cells:<2d} cells: recur {fast:>10,.0f} mazes/s   plain Python DFS "
              f"{slow:>8,.0f} mazes/s   speed-up {fast / slow:6.1f}x")
    # The paper's datasets: 60,000 mazes of each size (5, 6, 7 cells), labels and images.
    t0 = time.perf_counter()
    for cells in (5, 6, 7):
        ours(60_000, cells, 0)
    paper_s = time.perf_counter() - t0
    print("the paper's 180,000 mazes (3 sizes x 60,000) with labels and 2x images: "
          f"{paper_s:.2f} s")
    record = {"benchmark": "maze_generation", "rows": rows,
              "paper_180k_seconds": round(paper_s, 3), "render_batch": RENDER_BATCH,
              "repeats": repeats, "machine": platform.machine(),
              "processor": platform.processor(), "cpus": os.cpu_count(), "git_commit": git_commit(),
              **versions()}
    out = Path(args.output)
    write_record(out, record)
    print(f"written {out}")


if __name__ == "__main__":
    main()
