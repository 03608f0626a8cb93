"""Mazes: exact, vectorised generation, rendering and checking (paper section 4.1).

A maze of ``cells``×``cells`` cells lives on a ``(2·cells+1)``² grid: cells at odd
coordinates, walls between them and a wall border all round.  Mazes are made by a
randomized depth-first search (recursive backtracker) started at the start cell, so every
maze is a perfect maze: its free pixels form a tree.  The end is a different cell chosen
uniformly at random.  The search tree is rooted at the start, so following parent
pointers from the end gives the unique start–end path without solving anything.

The search runs on all mazes of a chunk at once (numpy); a backtracking step is
``cur = parent[cur]``, so every maze finishes after exactly ``2·cells² − 2`` steps (one
advance into each other cell, one step back out of it) and no maze needs masking.  Random numbers come from a counter-based hash of
(seed, maze index, step), so maze ``i`` is the same whatever the chunking.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import numbers
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from recur.storage import StorageError, atomic_write, quarantine, warn

__all__ = [
    "SIZES",
    "Mazes",
    "generate",
    "render",
    "check",
    "to_text",
    "path_lengths",
    "path_length_stats",
    "maze_hashes",
    "count_duplicates",
    "cells_for",
    "load_or_generate",
    "MazeDataset",
    "MazeBatches",
    "place",
]

#: The paper's names for its three datasets (grid without border: 9×9, 11×11, 13×13).
SIZES = {"small": 5, "medium": 6, "large": 7}
#: Train/test mazes per size: the paper's 50,000 + 10,000, and a fifth of that for the
#: quick profile (2-core CPU).
SPLIT_SIZES = {"paper": (50_000, 10_000), "quick": (10_000, 2_000)}
#: Bumped whenever generation changes, so on-disk caches of older mazes are not reused.
GENERATOR_VERSION = 1

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = _U64(30), _U64(27), _U64(31), _U64(32)


@dataclasses.dataclass(frozen=True, eq=False)
class Mazes:
    """A batch of ``n`` mazes on ``(2·cells+1)``² grids.

    grid:  (n, G, G) bool, True = free.   start, end: (n, 2) int (row, col) grid coordinates.
    path:  (n, G, G) bool, the unique start–end path, both ends and passages included.
    """

    grid: np.ndarray
    start: np.ndarray
    end: np.ndarray
    path: np.ndarray

    @property
    def cells(self) -> int:
        return (self.grid.shape[1] - 1) // 2

    def __len__(self) -> int:
        return self.grid.shape[0]

    def __getitem__(self, index) -> "Mazes":
        if isinstance(index, numbers.Integral):
            index = slice(index, index + 1 if index != -1 else None)
        return Mazes(self.grid[index], self.start[index], self.end[index], self.path[index])

    @staticmethod
    def concatenate(parts: "list[Mazes]") -> "Mazes":
        return Mazes(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in ("grid", "start", "end", "path")))


# --------------------------------------------------------------------------- validation
def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def cells_for(size) -> int:
    """Cells per side for a size name (``small``/``medium``/``large``) or an integer >= 2."""
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"unknown maze size {size!r}; use one of "
                             f"{', '.join(f'{k} ({v}x{v} cells)' for k, v in SIZES.items())}"
                             " or an integer number of cells >= 2")
        return SIZES[size]
    return _check_int("cells", size, 2)


def _seed_key(seed) -> np.uint64:
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    else:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or a "
                             f"numpy.random.SeedSequence, got {seed!r}")
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


def _generate_chunk(key, index: np.ndarray, k: int):
    """Depth-first search on ``len(index)`` mazes of k×k cells.

    Cells live on a (k+2)² padded board whose border is marked visited, so neighbour
    look-ups need no bounds checks; all boards of the chunk are one flat array, indexed
    by ``g`` = board offset + cell.  Returns grid, start, end, path.
    """
    m, C, W = len(index), k * k, k + 2
    P, G = W * W, 2 * k + 1
    steps = 2 * C - 2  # C−1 advances and C−1 backtracks: every maze ends at its root
    ends = _streams(key, index, 2)  # (m, 2): the first two words of each maze's stream
    start_cell = _below(ends[:, 0], C).astype(np.int64)
    end_cell = _below(ends[:, 1], C - 1).astype(np.int64)
    end_cell += end_cell >= start_cell  # uniform over the other C−1 cells
    q = np.ascontiguousarray(_draws(key, index, steps + 2)[:, 2:].T)  # (steps, m)

    table = _step_table(W)
    base = np.arange(m, dtype=np.int64) * P
    cells = (np.arange(C) // k + 1) * W + np.arange(C) % k + 1  # padded index of each cell
    visited = np.ones((m, W, W), dtype=np.uint8)
    visited[:, 1:-1, 1:-1] = 0
    visited = visited.reshape(-1)
    # up[g] = offset from cell g to its parent (one of ±1, ±W; 0 for the root), one byte
    # a cell so that the boards stay cache-sized.
    up = np.zeros(m * P, dtype=np.int16 if W > 127 else np.int8)
    g = base + cells[start_cell]
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

    # Grid coordinates are linear in padded ones, so the passage between two adjacent
    # cells is the mean of their flat grid indices.
    row, col = np.divmod(np.arange(P), W)
    to_grid = (2 * row - 1) * G + 2 * col - 1  # padded index → flat grid index
    up = up.reshape(m, P)
    mid = (to_grid[cells][None, :] + to_grid[cells + up[:, cells]]) // 2  # (m, C)
    gbase = np.arange(m)[:, None] * (G * G)
    grid = np.zeros(m * G * G, dtype=bool)
    grid[(gbase + mid).ravel()] = True  # the root's "passage" is the root itself
    grid.reshape(m, G, G)[:, 1::2, 1::2] = True

    # The path: walk from the end up the parent pointers to the start, dropping each
    # maze from the walk once it arrives.
    path = np.zeros(m * G * G, dtype=bool)
    ar, gb = np.arange(m), gbase[:, 0]
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

    start = np.stack(np.divmod(start_cell, k), axis=1) * 2 + 1
    end = np.stack(np.divmod(end_cell, k), axis=1) * 2 + 1
    return grid.reshape(m, G, G), start, end, path.reshape(m, G, G)


def generate(n: int, cells, seed=0, *, chunk: int | None = None,
             workers: int | None = None) -> Mazes:
    """``n`` perfect mazes of ``cells``×``cells`` cells (paper 4.1; SPEC 3).

    ``cells`` is an integer >= 2 or a size name (``small``, ``medium``, ``large``).  Same
    (n, cells, seed) gives the same arrays on every machine, and maze ``i`` depends on
    neither ``n``, ``chunk`` (mazes searched at once) nor ``workers`` (threads; numpy
    releases the GIL in the array operations, default: up to 2).
    """
    n = _check_int("n", n, 1)
    k = cells_for(cells)
    key = _seed_key(seed)
    if chunk is None:
        chunk = 4096  # measured best on a 2-core machine, for 6x6 and 29x29 cells alike
    chunk = _check_int("chunk", chunk, 1)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = _check_int("workers", workers, 1)
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
    *lead, G, _ = small.shape
    wide = np.repeat(small, scale, axis=-1)  # (..., G, s·G)
    interior = out[..., 1:-1, 1:-1]
    for r in range(scale):  # interior rows r, r+s, r+2s, … copy grid rows 0, 1, 2, …
        interior[..., r::scale, :] = wide


def _check_scale(scale) -> int:
    if isinstance(scale, bool) or not isinstance(scale, numbers.Integral) or scale < 1:
        raise ValueError(f"scale must be a positive integer (pixels per grid square; "
                         f"the paper uses 2), got {scale!r}")
    return int(scale)


def render(mazes: Mazes, scale: int = 2):
    """Images and labels as the paper's networks see them (SPEC 3).

    Returns ``inputs`` float32 (n, 3, H, W): free space white, walls black, start green,
    end red; ``targets`` uint8 (n, H, W): 1 on the start–end path.  Each grid square
    becomes scale×scale pixels inside a one-pixel black border: H = scale·(2·cells+1) + 2.
    """
    scale = _check_scale(scale)
    n, G, _ = mazes.grid.shape
    H = scale * G + 2
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


def to_text(mazes: Mazes, i: int = 0) -> str:
    """Maze ``i`` as text: ``#`` wall, ``S`` start, ``E`` end, ``*`` path, space free."""
    chars = np.where(mazes.grid[i], np.where(mazes.path[i], "*", " "), "#")
    chars[tuple(mazes.start[i])] = "S"
    chars[tuple(mazes.end[i])] = "E"
    return "\n".join("".join(row) for row in chars)


# --------------------------------------------------------------------------- checking
def _neighbours(a: np.ndarray) -> np.ndarray:
    """Number of 4-neighbours of each pixel that are True, for (n, G, G) bool."""
    c = np.zeros(a.shape, dtype=np.int8)
    c[:, 1:] += a[:, :-1]
    c[:, :-1] += a[:, 1:]
    c[:, :, 1:] += a[:, :, :-1]
    c[:, :, :-1] += a[:, :, 1:]
    return c


def _flood(seed: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Pixels of ``allowed`` connected to ``seed`` (all mazes at once)."""
    reach = seed & allowed
    while True:
        grown = reach.copy()
        grown[:, 1:] |= reach[:, :-1]
        grown[:, :-1] |= reach[:, 1:]
        grown[:, :, 1:] |= reach[:, :, :-1]
        grown[:, :, :-1] |= reach[:, :, 1:]
        grown &= allowed
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def _fail(what: str, bad: np.ndarray) -> None:
    idx = np.flatnonzero(bad)
    if idx.size:
        raise ValueError(f"{idx.size} maze(s) {what}: indices {idx[:10].tolist()}"
                         + (" …" if idx.size > 10 else ""))


def check(mazes: Mazes) -> None:
    """Raise ``ValueError`` unless every maze is well formed (SPEC 3).

    The free pixels must form a tree (connected, one edge fewer than nodes: 2·cells²−1
    nodes) with every cell free and every wall corner closed; start and end must be
    distinct cells; the path must be exactly the start–end path of that tree: inside the
    free space, connected, degree 1 at both ends and 2 everywhere else.
    """
    grid, path = np.asarray(mazes.grid, bool), np.asarray(mazes.path, bool)
    n, G, G2 = grid.shape
    if G != G2 or G % 2 == 0 or G < 5 or path.shape != grid.shape:
        raise ValueError(f"grid and path must both be (n, 2·cells+1, 2·cells+1) with "
                         f"cells >= 2; got {grid.shape} and {path.shape}")
    if mazes.start.shape != (n, 2) or mazes.end.shape != (n, 2):
        raise ValueError(f"start and end must be ({n}, 2); got "
                         f"{mazes.start.shape} and {mazes.end.shape}")
    k = (G - 1) // 2
    _fail("have a closed cell", ~grid[:, 1::2, 1::2].all(axis=(1, 2)))
    _fail("have an open wall corner", grid[:, ::2, ::2].any(axis=(1, 2)))
    nodes = grid.sum(axis=(1, 2))
    edges = (grid[:, 1:] & grid[:, :-1]).sum(axis=(1, 2)) + \
        (grid[:, :, 1:] & grid[:, :, :-1]).sum(axis=(1, 2))
    _fail(f"do not have 2·cells²−1 = {2 * k * k - 1} free pixels", nodes != 2 * k * k - 1)
    _fail("have a cycle (edges != nodes − 1)", edges != nodes - 1)
    ar = np.arange(n)
    for name, at in (("start", mazes.start), ("end", mazes.end)):
        r, c = at[:, 0], at[:, 1]
        _fail(f"have a {name} that is not a cell",
              (r < 1) | (r >= G) | (c < 1) | (c >= G) | (r % 2 == 0) | (c % 2 == 0))
    _fail("have start == end", (mazes.start == mazes.end).all(axis=1))
    at_start = np.zeros_like(grid)
    at_start[ar, mazes.start[:, 0], mazes.start[:, 1]] = True
    at_end = np.zeros_like(grid)
    at_end[ar, mazes.end[:, 0], mazes.end[:, 1]] = True
    _fail("are not connected", _flood(at_start, grid).sum(axis=(1, 2)) != nodes)
    _fail("have a path outside the free space", (path & ~grid).any(axis=(1, 2)))
    _fail("have a path missing its start or end",
          ~path[ar, mazes.start[:, 0], mazes.start[:, 1]]
          | ~path[ar, mazes.end[:, 0], mazes.end[:, 1]])
    degree = _neighbours(path)
    tips = at_start | at_end
    _fail("have a path that branches or stops early",
          (path & tips & (degree != 1)).any(axis=(1, 2))
          | (path & ~tips & (degree != 2)).any(axis=(1, 2)))
    _fail("have a path in pieces",
          _flood(at_start, path).sum(axis=(1, 2)) != path.sum(axis=(1, 2)))


# --------------------------------------------------------------------------- statistics
def path_lengths(mazes: Mazes) -> np.ndarray:
    """Optimal path length of each maze in cell-to-cell moves (paper Fig. 4)."""
    return (mazes.path.sum(axis=(1, 2)) - 1) // 2


def path_length_stats(mazes: Mazes) -> dict:
    """Summary of the path-length distribution: mean, std, min, median, max, histogram."""
    lengths = path_lengths(mazes)
    counts = np.bincount(lengths)
    return {"cells": mazes.cells, "n": len(lengths), "mean": float(lengths.mean()),
            "std": float(lengths.std()), "min": int(lengths.min()),
            "median": float(np.median(lengths)), "max": int(lengths.max()),
            "histogram": {int(i): int(c) for i, c in enumerate(counts) if c}}


def maze_hashes(mazes: Mazes) -> np.ndarray:
    """(n,) 16-byte content hashes of (grid, start, end): equal mazes, equal hashes."""
    rows = np.concatenate([np.packbits(mazes.grid.reshape(len(mazes), -1), axis=1),
                           mazes.start.astype("<u2").view(np.uint8).reshape(len(mazes), -1),
                           mazes.end.astype("<u2").view(np.uint8).reshape(len(mazes), -1)],
                          axis=1)
    return np.array([hashlib.blake2b(r.tobytes(), digest_size=16).digest() for r in rows],
                    dtype="S16")


def count_duplicates(mazes: Mazes) -> int:
    """How many mazes repeat an earlier one of the same batch."""
    return len(mazes) - len(np.unique(maze_hashes(mazes)))


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
    n_train, n_test = _check_int("n_train", n_train, 1), _check_int("n_test", n_test, 1)
    _seed_key(seed)  # validate before any work
    if cache_dir is False:
        return _make_splits(k, n_train, n_test, seed)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    config = dict(version=GENERATOR_VERSION, cells=k, n_train=n_train, n_test=n_test,
                  seed=int(seed))
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
        except Exception as err:  # any unreadable file is regenerated, never trusted
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
def place(images: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """Put each image (B, C, S, S) into a black size×size canvas with its top-left corner
    at ``offsets[b] = (row, col)``: the paper's pad-to-32 placement, used for training
    (fresh random offsets), test (fixed per maze) and scoring (centred) alike."""
    b, c, s = images.shape[0], images.shape[1], images.shape[-1]
    canvas = images.new_zeros((b, c, size, size))
    ar = torch.arange(s, device=images.device)
    offsets = offsets.to(images.device)
    rows = (offsets[:, 0, None] + ar)[:, None, :, None]  # (B, 1, S, 1)
    cols = (offsets[:, 1, None] + ar)[:, None, None, :]  # (B, 1, 1, S)
    canvas[torch.arange(b, device=images.device)[:, None, None, None],
           torch.arange(c, device=images.device)[None, :, None, None], rows, cols] = images
    return canvas


# --------------------------------------------------------------------------- torch dataset
class MazeDataset(torch.utils.data.Dataset):
    """Train or test split of a maze dataset as the paper's loader serves it (SPEC 3).

    ``size``: ``small``/``medium``/``large`` (5/6/7 cells) or a number of cells.  Items are
    ``(x, y)``: x float32 (3, crop, crop), y int64 (crop, crop).  Images smaller than
    ``crop`` are zero-padded (black, i.e. wall) and placed at a random offset: fresh
    offsets from torch's generator for ``train``, fixed per maze for ``test``.
    ``crop=None`` serves the rendered images as they are.  ``duplicates`` counts mazes
    that repeat within the split; train and test share none.
    """

    def __init__(self, split: str = "train", size="small", *, n_train: int = 50_000,
                 n_test: int = 10_000, seed: int = 0, scale: int = 2, crop: int | None = 32,
                 cache_dir=None):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.cells = cells_for(size)
        self.scale = _check_scale(scale)
        self.image_size = self.scale * (2 * self.cells + 1) + 2
        if crop is not None:
            crop = _check_int("crop", crop, 1)
            if crop < self.image_size:
                raise ValueError(f"crop must be >= the image size {self.image_size} "
                                 f"({self.cells}x{self.cells} cells at scale {self.scale}), "
                                 f"or None; got {crop}")
        self.split, self.crop, self.seed = split, crop, seed
        train, test = load_or_generate(self.cells, n_train, n_test, seed, cache_dir)
        self.mazes = train if split == "train" else test
        self.duplicates = count_duplicates(self.mazes)

    def __len__(self) -> int:
        return len(self.mazes)

    def offsets(self, index, generator: torch.Generator | None = None) -> torch.Tensor:
        """(len(index), 2) int64 top-left offsets of each image inside its crop: fixed per
        maze for ``test`` (a hash of seed and index), fresh from ``generator`` for ``train``."""
        room = (self.crop or self.image_size) - self.image_size + 1
        if self.split == "test":
            words = _streams(_seed_key(np.random.SeedSequence([self.seed, 7])),
                             np.asarray(index), 2)
            return torch.from_numpy(_below(words, room).astype(np.int64))
        return torch.randint(room, (len(index), 2), generator=generator)

    def centred(self, n: int) -> torch.Tensor:
        """(n, 2) offsets that put every image in the middle of its crop (for scoring)."""
        pad = ((self.crop or self.image_size) - self.image_size) // 2
        return torch.full((n, 2), pad, dtype=torch.int64)

    def batch(self, index, generator: torch.Generator | None = None):
        """Render a batch at once: x (b, 3, crop, crop) float32, y (b, crop, crop) int64."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        inputs, targets = render(self.mazes[index], self.scale)
        x, y = torch.from_numpy(inputs), torch.from_numpy(targets).long()
        if self.crop is None:
            return x, y
        xy = place(torch.cat([x, y[:, None].float()], 1), self.offsets(index, generator),
                   self.crop)
        return xy[:, :3], xy[:, 3].long()

    def __getitem__(self, i: int):
        x, y = self.batch([i])
        return x[0], y[0]


class MazeBatches:
    """A maze split as the trainer reads it: images and labels kept on the device as
    uint8 (B, 3, S, S) and (B, S, S).  Training batches come in a fresh random order with
    each maze at a fresh random offset in its crop (the paper's loader); test batches in
    order, at the dataset's fixed offsets (placed once, here)."""

    def __init__(self, dataset: MazeDataset, device=None, train: bool | None = None):
        self.dataset, self.device = dataset, torch.device(device or "cpu")
        self.train = dataset.split == "train" if train is None else train
        x, y = render(dataset.mazes, dataset.scale)
        x, y = torch.from_numpy(x).to(torch.uint8), torch.from_numpy(y)
        self.crop = dataset.crop
        if self.crop is not None and not self.train:  # fixed placement: once, here
            offsets = dataset.offsets(np.arange(len(dataset)))
            x, y = place(x, offsets, self.crop), place(y[:, None], offsets, self.crop)[:, 0]
        self.x, self.y = x.to(self.device), y.to(self.device)

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, batch_size: int, generator: torch.Generator | None = None):
        """(x float32, y int64) batches; ``generator`` (CPU) drives order and offsets."""
        n = len(self.x)
        order = torch.randperm(n, generator=generator) if self.train else torch.arange(n)
        order = order.to(self.device)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            x, y = self.x[idx], self.y[idx]
            if self.train and self.crop is not None:
                offsets = self.dataset.offsets(idx.cpu().numpy(), generator)
                xy = place(torch.cat([x, y[:, None]], 1), offsets, self.crop)
                x, y = xy[:, :3], xy[:, 3]
            yield x.float(), y.long()

    def eval_view(self) -> "MazeBatches":
        """The same mazes in order, each centred in its crop: for scoring a training set."""
        view = copy.copy(self)  # shares the tensors
        view.train = False
        if self.train and self.crop is not None:
            offsets = self.dataset.centred(len(self.x))
            view.x = place(self.x, offsets, self.crop)
            view.y = place(self.y[:, None], offsets, self.crop)[:, 0]
        return view
