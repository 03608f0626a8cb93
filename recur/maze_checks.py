"""A batch of mazes (:class:`Mazes`), its text view and its checks and measures (paper
section 4.1; SPEC 3): every maze a tree, every label the unique start–end path; path
lengths, content hashes and duplicates.

Pure numpy, on anything with the fields of :class:`Mazes` (``grid``, ``start``, ``end``,
``path``); :mod:`recur.mazes` (which generates them) offers every public name too.
"""
from __future__ import annotations

import dataclasses
import hashlib
import numbers

import numpy as np

__all__ = ["Mazes", "check", "count_duplicates", "maze_hashes", "path_length_stats",
           "path_lengths", "split_summary", "to_text"]


# --------------------------------------------------------------------------- the batch
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

    def __getitem__(self, index) -> Mazes:
        if isinstance(index, numbers.Integral):
            index = slice(index, index + 1 if index != -1 else None)
        return Mazes(self.grid[index], self.start[index], self.end[index], self.path[index])

    @staticmethod
    def concatenate(parts: list[Mazes]) -> Mazes:
        return Mazes(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in ("grid", "start", "end", "path")))


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


def split_summary(train: Mazes, test: Mazes, scale: int) -> dict:
    """One train/test split of one maze size, checked (:func:`check` raises on any fault)
    and measured: sizes, duplicates, train/test overlap, path lengths (a table row)."""
    check(train)
    check(test)
    lengths, duplicates = path_lengths(train), count_duplicates(train)
    side = 2 * train.cells + 1
    return {"cells": f"{train.cells}x{train.cells}", "grid": f"{side}x{side}",
            "image px": scale * side + 2, "train": len(train), "test": len(test),
            "train duplicates": duplicates,
            "duplicates %": round(100 * duplicates / len(train), 2),
            "train/test overlap": int(np.isin(maze_hashes(test), maze_hashes(train)).sum()),
            "mean path": round(float(lengths.mean()), 2), "max path": int(lengths.max())}
