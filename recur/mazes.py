"""Mazes: exact, vectorised generation, rendering and cached splits (paper section 4.1), in
numpy; the :class:`Mazes` batch, checks and statistics are in :mod:`recur.maze_checks`
(reachable from here), torch batches in :mod:`recur.batches`.

A maze of ``cells``×``cells`` cells lives on a ``(2·cells+1)``² grid: cells at odd
coordinates, walls between them and a wall border all round.  Mazes are made by a
randomized depth-first search (recursive backtracker) started at the start cell, so every
maze is a perfect maze: its free pixels form a tree.  The end is a different cell chosen
uniformly at random.  The search tree is rooted at the start, so following parent
pointers from the end gives the unique start–end path without solving anything.

The search runs on all mazes of a chunk at once (numpy); a backtracking step is
``cur = parent[cur]``, so every maze finishes after exactly ``2·cells² − 2`` steps (one
advance into each other cell, one step back out of it) and no maze needs masking.  Random
numbers come from a counter-based hash of (seed, maze index, step), so maze ``i`` is the
same whatever the chunking.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from recur import checks
from recur.datasets import MAZE_SIZES
from recur.maze_checks import (Mazes, check, count_duplicates, maze_hashes,
                               path_length_stats, path_lengths, split_summary, to_text)
from recur.storage import StorageError, atomic_write, quarantine, warn

__all__ = ["Mazes", "cells_for", "check", "count_duplicates", "fixed_offsets",
           "generate", "image_size", "load_or_generate", "maze_hashes", "path_length_stats",
           "path_lengths", "render", "split_summary", "to_text"]

#: The paper's names for its three datasets (grid without border: 9×9, 11×11, 13×13).
#: Bumped whenever generation changes, so on-disk caches of older mazes are not reused.
GENERATOR_VERSION = 1

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = _U64(30), _U64(27), _U64(31), _U64(32)


# --------------------------------------------------------------------------- validation
def cells_for(size) -> int:
    """Cells per side for a size name (``small``/``medium``/``large``) or an integer >= 2."""
    if isinstance(size, str):
        if size not in MAZE_SIZES:
            raise ValueError(f"unknown maze size {size!r}; use one of "
                             f"{', '.join(f'{k} ({v}x{v} cells)' for k, v in MAZE_SIZES.items())}"
                             " or an integer number of cells >= 2")
        return MAZE_SIZES[size]
    checks.integer("cells", size, 2)
    return int(size)


def _seed_key(seed) -> np.uint64:
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    else:
        if not checks.is_integer(seed) or seed < 0:
            raise checks.bad("seed", seed, "an integer >= 0 or a numpy.random.SeedSequence")
        ss = np.random.SeedSequence(int(seed))
    return ss.generate_state(1, dtype=np.uint64)[0]


# --------------------------------------------------------------------------- randomness
def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective hash of uint64 (vectorised, same on every machine)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _streams(key: np.uint64, index: np.ndarray, stop: int, start: int = 0) -> np.ndarray:
    """Words ``start..stop-1`` of each maze's random stream, shape (len(index), stop-start).

    Word w of maze i is a hash of (key, i, w) alone: no state, so any chunking of mazes
    or blocking of words gives the same numbers.
    """
    maze_key = _mix(index.astype(_U64) * _GOLDEN ^ key)
    counter = (np.arange(start + 1, stop + 1, dtype=_U64) * _GOLDEN)
    return _mix(maze_key[:, None] + counter[None, :])


def _below(words: np.ndarray, bound) -> np.ndarray:
    """Uniform integers in [0, bound) from the top 32 bits of each word (Lemire)."""
    return ((words >> _S32) * np.asarray(bound, dtype=_U64)) >> _S32


# --------------------------------------------------------------------------- generation
# One draw q ∈ [0, 12) per search step serves every neighbour count n ∈ {1, 2, 3, 4}:
# 12 is divisible by each, so q·n // 12 is exactly uniform on [0, n).
_LCM = 12


def _step_table(width: int) -> np.ndarray:
    """``table[mask·12 + q]``: offset to the chosen unvisited neighbour (0 if none).

    Bit b of ``mask`` is set when neighbour b (up, right, down, left) is visited.
    """
    offsets = (-width, 1, width, -1)
    table = np.zeros(16 * _LCM, dtype=np.int64)
    for mask in range(16):
        free = [offsets[b] for b in range(4) if not mask >> b & 1]
        for q in range(_LCM):
            if free:
                table[mask * _LCM + q] = free[q * len(free) // _LCM]
    return table


def _draws(key, index: np.ndarray, steps: int, block: int = 256) -> np.ndarray:
    """(len(index), steps) uint8 uniforms on [0, 12), built block by block to bound memory."""
    out = np.empty((len(index), steps), dtype=np.uint8)
    for s in range(0, steps, block):
        words = _streams(key, index, min(steps, s + block), s)
        out[:, s:s + block] = _below(words, _LCM)
    return out


def _board(k: int):
    """Where a k×k maze lives on its (k+2)² padded board: the padded index of each cell
    (C,), and the map from padded index to flat index in the (2k+1)² grid (P,).  Grid
    coordinates are linear in padded ones, so the passage between two adjacent cells is
    the mean of their flat grid indices."""
    C, W, G = k * k, k + 2, 2 * k + 1
    cells = (np.arange(C) // k + 1) * W + np.arange(C) % k + 1
    row, col = np.divmod(np.arange(W * W), W)
    return cells, (2 * row - 1) * G + 2 * col - 1


def _endpoints(key, index: np.ndarray, k: int):
    """Start and end cell of each maze (distinct, each uniform): the first two words of
    its stream."""
    C = k * k
    ends = _streams(key, index, 2)  # (m, 2)
    start_cell = _below(ends[:, 0], C).astype(np.int64)
    end_cell = _below(ends[:, 1], C - 1).astype(np.int64)
    end_cell += end_cell >= start_cell  # uniform over the other C−1 cells
    return start_cell, end_cell


def _search(key, index: np.ndarray, k: int, root: np.ndarray) -> np.ndarray:
    """Depth-first search from padded cell ``root`` (m,) on each maze's board; returns
    ``up`` (m, P): offset from each cell to its parent (one of ±1, ±W; 0 for the root).

    The board's border is marked visited, so neighbour look-ups need no bounds checks;
    all boards of the chunk are one flat array, indexed by ``g`` = board offset + cell.
    """
    m, C, W = len(index), k * k, k + 2
    P = W * W
    steps = 2 * C - 2  # C−1 advances and C−1 backtracks: every maze ends at its root
    q = np.ascontiguousarray(_draws(key, index, steps + 2)[:, 2:].T)  # (steps, m)
    table = _step_table(W)
    base = np.arange(m, dtype=np.int64) * P
    visited = np.ones((m, W, W), dtype=np.uint8)
    visited[:, 1:-1, 1:-1] = 0
    visited = visited.reshape(-1)
    # one byte a cell, so that the boards stay cache-sized
    up = np.zeros(m * P, dtype=np.int16 if W > 127 else np.int8)
    g = base + root
    visited[g] = 1
    for t in range(steps):
        mask = visited.take(g - W)  # (m,) uint8: bit b set = neighbour b already visited
        mask |= visited.take(g + 1) << 1
        mask |= visited.take(g + W) << 2
        mask |= visited.take(g - 1) << 3
        advance = mask != 15
        mask *= _LCM
        mask += q[t]
        step = table.take(mask)  # 0 where every neighbour is visited
        nxt = g + np.where(advance, step, up.take(g))
        visited[nxt] = 1
        up[np.where(advance, nxt, base)] = -step  # on a backtrack: a border slot, never read
        g = nxt
    return up.reshape(m, P)


def _carve(up: np.ndarray, k: int) -> np.ndarray:
    """(m, G, G) grids: every cell free, and the passage from each cell to its parent."""
    m, G = len(up), 2 * k + 1
    cells, to_grid = _board(k)
    mid = (to_grid[cells][None, :] + to_grid[cells + up[:, cells]]) // 2  # (m, C)
    gbase = np.arange(m)[:, None] * (G * G)
    grid = np.zeros(m * G * G, dtype=bool)
    grid[(gbase + mid).ravel()] = True  # the root's "passage" is the root itself
    grid.reshape(m, G, G)[:, 1::2, 1::2] = True
    return grid.reshape(m, G, G)


def _trace(up: np.ndarray, k: int, end_cell: np.ndarray) -> np.ndarray:
    """(m, G, G) paths: walk from the end up the parent pointers to the root (the start),
    dropping each maze from the walk once it arrives."""
    m, G = len(up), 2 * k + 1
    cells, to_grid = _board(k)
    path = np.zeros(m * G * G, dtype=bool)
    ar, gb = np.arange(m), np.arange(m) * (G * G)
    node = cells[end_cell]  # padded index within the maze's board
    path[gb + to_grid[node]] = True
    while len(ar):
        step = up[ar, node]
        parent = node + step
        path[gb + (to_grid[node] + to_grid[parent]) // 2] = True
        path[gb + to_grid[parent]] = True
        going = up[ar, parent] != 0
        if not going.all():
            ar, gb, parent = ar[going], gb[going], parent[going]
        node = parent
    return path.reshape(m, G, G)


def _generate_chunk(key, index: np.ndarray, k: int):
    """``len(index)`` mazes of k×k cells: grid, start, end, path."""
    start_cell, end_cell = _endpoints(key, index, k)
    cells, _ = _board(k)
    up = _search(key, index, k, cells[start_cell])
    start = np.stack(np.divmod(start_cell, k), axis=1) * 2 + 1
    end = np.stack(np.divmod(end_cell, k), axis=1) * 2 + 1
    return _carve(up, k), start, end, _trace(up, k, end_cell)


def generate(n: int, cells, seed=0, *, chunk: int | None = None,
             workers: int | None = None) -> Mazes:
    """``n`` perfect mazes of ``cells``×``cells`` cells (paper 4.1; SPEC 3).

    ``cells`` is an integer >= 2 or a size name (``small``, ``medium``, ``large``).  Same
    (n, cells, seed) gives the same arrays on every machine, and maze ``i`` depends on
    neither ``n``, ``chunk`` (mazes searched at once) nor ``workers`` (threads; numpy
    releases the GIL in the array operations, default: up to 2).
    """
    checks.integer("n", n, 1)
    k = cells_for(cells)
    key = _seed_key(seed)
    if chunk is None:
        chunk = 4096  # measured best on a 2-core machine, for 6x6 and 29x29 cells alike
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    checks.integer("chunk", chunk, 1)
    checks.integer("workers", workers, 1)
    n, chunk, workers = int(n), int(chunk), int(workers)
    starts = range(0, n, chunk)

    def one(i):
        return _generate_chunk(key, np.arange(i, min(i + chunk, n)), k)

    if workers == 1 or len(starts) == 1:
        parts = [one(i) for i in starts]
    else:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(one, starts))
    grid, start, end, path = (np.concatenate(x) for x in zip(*parts))
    return Mazes(grid, start, end, path)


# --------------------------------------------------------------------------- rendering
def _upscale(small: np.ndarray, scale: int, out: np.ndarray) -> None:
    """Write (..., G, G) ``small`` into (..., s·G+2, s·G+2) ``out`` as s×s blocks inside a
    one-pixel border (left as it is).  Rows are widened first so the copy into ``out``
    runs over whole image rows, not over s pixels at a time."""
    wide = np.repeat(small, scale, axis=-1)  # (..., G, s·G)
    interior = out[..., 1:-1, 1:-1]
    for r in range(scale):  # interior rows r, r+s, r+2s, … copy grid rows 0, 1, 2, …
        interior[..., r::scale, :] = wide


def image_size(cells: int, scale: int) -> int:
    """Side of a rendered maze of ``cells`` cells: scale·(2·cells+1) + 2 pixels."""
    if not checks.is_integer(scale) or scale < 1:
        raise checks.bad("scale", scale, "an integer >= 1 (pixels per grid square; "
                                         "the paper uses 2)")
    return int(scale) * (2 * cells + 1) + 2


def render(mazes: Mazes, scale: int = 2):
    """Images and labels as the paper's networks see them (SPEC 3).

    Returns ``inputs`` float32 (n, 3, H, W): free space white, walls black, start green,
    end red; ``targets`` uint8 (n, H, W): 1 on the start–end path.  Each grid square
    becomes scale×scale pixels inside a one-pixel black border: H = scale·(2·cells+1) + 2.
    """
    n, G, _ = mazes.grid.shape
    H = image_size(mazes.cells, scale)
    scale = int(scale)
    ar = np.arange(n)
    is_start = np.zeros_like(mazes.grid)
    is_start[ar, mazes.start[:, 0], mazes.start[:, 1]] = True
    is_end = np.zeros_like(mazes.grid)
    is_end[ar, mazes.end[:, 0], mazes.end[:, 1]] = True
    colour = np.empty((n, 3, G, G), dtype=bool)
    np.logical_and(mazes.grid, ~is_start, out=colour[:, 0])  # red: free, not start
    np.logical_and(mazes.grid, ~is_end, out=colour[:, 1])  # green: free, not end
    np.logical_and(colour[:, 0], ~is_end, out=colour[:, 2])  # blue: free, neither
    inputs = np.zeros((n, 3, H, H), dtype=np.float32)
    _upscale(colour, scale, inputs)
    targets = np.zeros((n, H, H), dtype=np.uint8)
    _upscale(mazes.path, scale, targets)
    return inputs, targets


# --------------------------------------------------------------------------- splits + cache
_FIELDS = ("grid", "start", "end", "path")


def default_cache_dir() -> Path:
    """``$RECUR_CACHE`` if set, else ``~/.cache/recur``."""
    return Path(os.environ.get("RECUR_CACHE") or Path.home() / ".cache" / "recur")


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _make_splits(cells: int, n_train: int, n_test: int, seed: int):
    """Train from one seed stream, test from another, minus any maze also in train."""
    root = np.random.SeedSequence(seed)
    train_ss, test_ss = root.spawn(2)
    train = generate(n_train, cells, train_ss)
    in_train = set(maze_hashes(train).tolist())
    want = n_test
    for _ in range(6):  # draw more candidates until n_test of them are new
        candidates = generate(want, cells, test_ss)
        fresh = ~np.isin(maze_hashes(candidates), list(in_train))
        if fresh.sum() >= n_test:
            return train, candidates[np.flatnonzero(fresh)[:n_test]]
        want = int(want * 2 + 16)
    raise ValueError(f"cannot draw {n_test} test mazes of {cells}x{cells} cells that are "
                     f"not in a training set of {n_train}: too few distinct mazes exist; "
                     f"use more cells or fewer mazes")


def load_or_generate(cells, n_train: int, n_test: int, seed: int = 0,
                     cache_dir=None) -> tuple[Mazes, Mazes]:
    """Disjoint (train, test) mazes, from the on-disk cache when a valid copy is there.

    The cache file's name holds a hash of the full config (generator version, cells,
    sizes, seed).  It is written atomically (temp file, then rename) with a SHA-256 of its
    arrays; a file that fails to load or to verify is reported with a warning, regenerated
    and replaced, never used.  ``cache_dir=False`` turns the cache off.
    """
    k = cells_for(cells)
    checks.integer("n_train", n_train, 1)
    checks.integer("n_test", n_test, 1)
    n_train, n_test = int(n_train), int(n_test)
    _seed_key(seed)  # validate before any work
    if cache_dir is False:
        return _make_splits(k, n_train, n_test, seed)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    config = {"version": GENERATOR_VERSION, "cells": k, "n_train": n_train, "n_test": n_test,
              "seed": int(seed)}
    tag = hashlib.sha256(repr(sorted(config.items())).encode()).hexdigest()[:16]
    file = cache_dir / f"mazes-{k}x{k}-{n_train}-{n_test}-seed{seed}-{tag}.npz"
    if file.exists():
        try:
            with np.load(file, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files if name != "sha256"}
                stored = str(z["sha256"])
            if stored != _digest(arrays):
                raise ValueError("checksum mismatch")
            return tuple(Mazes(*(arrays[f"{split}_{f}"] for f in _FIELDS))
                         for split in ("train", "test"))
        except Exception as err:  # noqa: BLE001 (any unreadable file is regenerated)
            aside = quarantine(file)
            warnings.warn(f"maze cache {file} is corrupt ({type(err).__name__}: {err}); "
                          + (f"moved to {aside}; " if aside else "") + "regenerating it",
                          RuntimeWarning, stacklevel=2)
    train, test = _make_splits(k, n_train, n_test, seed)
    arrays = {f"{split}_{f}": getattr(m, f) for split, m in (("train", train), ("test", test))
              for f in _FIELDS}
    buffer = io.BytesIO()
    np.savez(buffer, sha256=np.array(_digest(arrays)), **arrays)
    try:
        atomic_write(file, buffer.getvalue())
    except StorageError as err:  # the mazes are made: a cache that cannot keep them is no loss
        warn(f"{err}: these mazes are not cached (set RECUR_CACHE to cache them elsewhere)")
    return train, test


# --------------------------------------------------------------------------- placement
def fixed_offsets(seed: int, index, room: int) -> np.ndarray:
    """(len(index), 2) int64 top-left offsets in [0, room) of test mazes inside their
    crop: a hash of (seed, maze index), the same on every pass and machine."""
    words = _streams(_seed_key(np.random.SeedSequence([seed, 7])), np.asarray(index), 2)
    return _below(words, room).astype(np.int64)

