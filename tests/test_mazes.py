"""Mazes: exact trees, exact labels (against an independent BFS), determinism, images,
splits, cache and argument errors."""
import subprocess
import sys
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recur import maze_checks, mazes
from recur.mazes import Mazes


def bfs_path(grid: np.ndarray, start, end) -> set:
    """Shortest start–end path over free pixels, by breadth-first search (the oracle)."""
    start, end = tuple(map(int, start)), tuple(map(int, end))
    prev = {start: None}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        if (r, c) == end:
            break
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if grid[nr, nc] and (nr, nc) not in prev:
                prev[(nr, nc)] = (r, c)
                queue.append((nr, nc))
    path, node = set(), end
    while node is not None:
        path.add(node)
        node = prev[node]
    return path


def path_set(m: Mazes, i: int) -> set:
    """The labelled path of maze ``i`` as a set of (row, col)."""
    return {tuple(p) for p in np.argwhere(m.path[i])}


def free_pixels_form_tree(grid: np.ndarray) -> bool:
    """Independent tree test: one connected component, edges = nodes − 1."""
    free = {tuple(p) for p in np.argwhere(grid)}
    edges = sum((r + 1, c) in free for r, c in free) + sum((r, c + 1) in free for r, c in free)
    first = next(iter(free))
    seen, stack = {first}, [first]
    while stack:
        r, c = stack.pop()
        for nb in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if nb in free and nb not in seen:
                seen.add(nb)
                stack.append(nb)
    return len(seen) == len(free) and edges == len(free) - 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), cells=st.integers(2, 9), seed=st.integers(0, 2**32))
def test_every_maze_is_a_tree_with_its_bfs_path(n, cells, seed):
    m = mazes.generate(n, cells, seed)
    G = 2 * cells + 1
    assert m.grid.shape == m.path.shape == (n, G, G) and m.grid.dtype == bool
    mazes.check(m)
    for i in range(n):
        assert m.grid[i].sum() == 2 * cells**2 - 1
        assert free_pixels_form_tree(m.grid[i])
        assert tuple(m.start[i]) != tuple(m.end[i])
        assert path_set(m, i) == bfs_path(m.grid[i], m.start[i], m.end[i])


def test_large_mazes_are_exact_too():
    m = mazes.generate(3, 29, 11)
    mazes.check(m)
    for i in range(3):
        assert free_pixels_form_tree(m.grid[i])
        assert path_set(m, i) == bfs_path(m.grid[i], m.start[i], m.end[i])


def _same(a: Mazes, b: Mazes) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f))
               for f in ("grid", "start", "end", "path"))


def test_deterministic_and_independent_of_chunking():
    ref = mazes.generate(500, 6, 3)
    assert _same(ref, mazes.generate(500, 6, 3))
    assert _same(ref, mazes.generate(500, 6, 3, chunk=7, workers=1))
    assert _same(ref, mazes.generate(500, 6, 3, chunk=64, workers=2))
    assert _same(ref[:123], mazes.generate(123, 6, 3))  # maze i does not depend on n
    assert not np.array_equal(ref.grid, mazes.generate(500, 6, 4).grid)


def test_known_values_pin_the_generator():
    """Same seed, same mazes on every machine: a change here must bump GENERATOR_VERSION."""
    m = mazes.generate(1, 5, 0)
    assert mazes.to_text(m) == """\
###########
#***#     #
#*#*# ### #
#*#*#   # #
#*#*### ###
#S#***#   #
#####*### #
#   #**E  #
# # ##### #
# #       #
###########"""
    assert mazes.GENERATOR_VERSION == 1


def test_start_and_end_are_uniform():
    """Start uniform over the 9 cells, end uniform over the other 8 (chi-square, fixed seed)."""
    m = mazes.generate(18_000, 3, 5)
    start = (m.start[:, 0] // 2) * 3 + m.start[:, 1] // 2
    end = (m.end[:, 0] // 2) * 3 + m.end[:, 1] // 2
    counts = np.bincount(start, minlength=9)
    chi2 = ((counts - 2000) ** 2 / 2000).sum()
    assert chi2 < 26.1  # 99.9th percentile of chi-square with 8 degrees of freedom
    pair = np.bincount(start * 9 + end, minlength=81).reshape(9, 9)
    assert np.all(np.diag(pair) == 0)
    off = pair[~np.eye(9, dtype=bool)]
    assert ((off - 250) ** 2 / 250).sum() < 112.3  # 99.9th pct, 71 d.o.f.


def test_path_lengths_follow_dfs_from_start():
    """A search rooted at the start gives long winding paths; the mean over 6x6 mazes sits
    near 15 moves (a search rooted elsewhere gives paths about a third shorter)."""
    lengths = mazes.path_lengths(mazes.generate(20_000, 6, 1))
    assert 14.0 < lengths.mean() < 16.5
    stats = mazes.path_length_stats(mazes.generate(100, 6, 1))
    assert sum(stats["histogram"].values()) == 100 and stats["min"] >= 1


@pytest.mark.parametrize("cells,scale,size",
                         [(5, 2, 24), (6, 2, 28), (7, 2, 32), (4, 1, 11), (3, 3, 23)])
def test_render_shapes_and_colours(cells, scale, size):
    m = mazes.generate(5, cells, 2)
    x, y = mazes.render(m, scale)
    assert x.shape == (5, 3, size, size) and x.dtype == np.float32
    assert y.shape == (5, size, size) and y.dtype == np.uint8
    # border black, and every pixel one of the four colours
    assert not x[:, :, 0].any() and not x[:, :, -1].any() and not x[:, :, :, 0].any()
    colours = {tuple(v) for v in x.transpose(0, 2, 3, 1).reshape(-1, 3).tolist()}
    assert colours <= {(1, 1, 1), (0, 0, 0), (0, 1, 0), (1, 0, 0)}
    for i in range(5):
        up = np.kron(m.grid[i], np.ones((scale, scale), dtype=bool))
        assert np.array_equal(x[i].max(axis=0)[1:-1, 1:-1] == 1, up)
        block = np.ones((scale, scale), dtype=np.uint8)
        assert np.array_equal(y[i][1:-1, 1:-1], np.kron(m.path[i], block))
        (sr, sc), (er, ec) = m.start[i] * scale + 1, m.end[i] * scale + 1
        assert x[i, :, sr, sc].tolist() == [0, 1, 0]  # start green
        assert x[i, :, er + scale - 1, ec + scale - 1].tolist() == [1, 0, 0]  # end red
    assert y.sum() == m.path.sum() * scale * scale


def test_check_rejects_broken_mazes():
    m = mazes.generate(4, 5, 9)
    mazes.check(m)
    corner = m.grid.copy()
    corner[1, 2, 2] = True  # the known defect of the original renderer: an open corner
    with pytest.raises(ValueError, match="corner"):
        mazes.check(Mazes(corner, m.start, m.end, m.path))
    cycle = m.grid.copy()
    walls = np.argwhere(~cycle[2, 1:-1, 1:-1] & ((np.indices((9, 9)).sum(0) % 2) == 1)) + 1
    cycle[2, walls[0][0], walls[0][1]] = True  # knock down one more wall: a cycle
    with pytest.raises(ValueError, match="free pixels"):
        mazes.check(Mazes(cycle, m.start, m.end, m.path))
    passages = np.argwhere(m.grid[2] & ~m.path[2] & ((np.indices((11, 11)).sum(0) % 2) == 1))
    cycle[2, passages[0][0], passages[0][1]] = False  # and close a passage elsewhere
    with pytest.raises(ValueError, match="cycle|not connected"):
        mazes.check(Mazes(cycle, m.start, m.end, m.path))
    branch = m.path.copy()
    extra = np.argwhere(m.grid[0] & ~m.path[0] & (maze_checks._neighbours(m.path)[0] > 0))[0]
    branch[0, extra[0], extra[1]] = True  # a free pixel next to the path, wrongly labelled
    with pytest.raises(ValueError, match="branches"):
        mazes.check(Mazes(m.grid, m.start, m.end, branch))
    with pytest.raises(ValueError, match="start == end"):
        mazes.check(Mazes(m.grid, m.start, m.start.copy(), m.path))
    short = m.path.copy()
    short[3] = False
    with pytest.raises(ValueError, match="missing its start"):
        mazes.check(Mazes(m.grid, m.start, m.end, short))


def test_splits_are_disjoint_and_duplicates_counted(tmp_path):
    train, test = mazes.load_or_generate("small", 3000, 600, 0, tmp_path)
    assert (len(train), len(test)) == (3000, 600)
    assert not np.isin(mazes.maze_hashes(test), mazes.maze_hashes(train)).any()
    # 3x3 cells: few distinct mazes, so the test set must be filtered hard and stays disjoint
    train, test = mazes.load_or_generate(3, 500, 100, 0, False)
    assert not np.isin(mazes.maze_hashes(test), mazes.maze_hashes(train)).any()
    assert mazes.count_duplicates(train) > 0
    dup = Mazes.concatenate([train[:10], train[:10]])
    assert mazes.count_duplicates(dup) == 10 + mazes.count_duplicates(train[:10])
    with pytest.raises(ValueError, match="too few distinct mazes"):
        mazes.load_or_generate(2, 2000, 10, 0, False)


def test_cache_roundtrip_and_corruption(tmp_path):
    train, test = mazes.load_or_generate(5, 200, 50, 1, tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temp file left behind
    again = mazes.load_or_generate(5, 200, 50, 1, tmp_path)
    assert _same(train, again[0]) and _same(test, again[1])
    mazes.load_or_generate(5, 200, 50, 2, tmp_path)  # another config, another file
    assert len(list(tmp_path.iterdir())) == 2

    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte inside the arrays
    files[0].write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="corrupt"):
        fixed = mazes.load_or_generate(5, 200, 50, 1, tmp_path)
    assert _same(train, fixed[0]) and _same(test, fixed[1])

    files[0].write_bytes(files[0].read_bytes()[:1000])  # truncated
    with pytest.warns(RuntimeWarning, match="corrupt"):
        fixed = mazes.load_or_generate(5, 200, 50, 1, tmp_path)
    assert _same(train, fixed[0])
    mazes.load_or_generate(5, 200, 50, 1, tmp_path)  # repaired file: no warning now


@pytest.mark.parametrize("call,match", [
    (lambda: mazes.generate(10, 1, 0), "cells = 1 is not allowed: use an integer >= 2"),
    (lambda: mazes.generate(0, 5, 0), "n = 0 is not allowed: use an integer >= 1"),
    (lambda: mazes.generate(10, 2.5, 0), "cells = 2.5 is not allowed: use an integer"),
    (lambda: mazes.generate(10.0, 5, 0), "n = 10.0 is not allowed: use an integer"),
    (lambda: mazes.generate(True, 5, 0), "n = True is not allowed: use an integer"),
    (lambda: mazes.generate(10, 5, 0, chunk=0), "chunk = 0 is not allowed: use an integer >= 1"),
    (lambda: mazes.generate(10, "huge", 0), "unknown maze size 'huge'.*small"),
    (lambda: mazes.generate(10, 5, -1), "seed = -1 is not allowed: use an integer >= 0 or a"),
    (lambda: mazes.generate(10, 5, 1.5), "seed = 1.5 is not allowed"),
    (lambda: mazes.render(mazes.generate(2, 3, 0), 0), "scale = 0 is not allowed: use an integer"),
    (lambda: mazes.render(mazes.generate(2, 3, 0), 1.5), "scale = 1.5 is not allowed"),
    (lambda: mazes.load_or_generate(5, 10, 0, cache_dir=False), "n_test = 0 is not allowed"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_integers_are_integers_and_give_the_same_mazes():
    assert _same(mazes.generate(np.int64(6), np.int32(5), np.uint8(3)), mazes.generate(6, 5, 3))


def test_mazes_stay_numpy_and_the_torch_batching_lives_in_batches():
    """Importing recur.mazes (or recur.maze_checks) does not import torch; the maze batches
    (MazeDataset, MazeBatches, place) are recur.batches', beside the image pipeline."""
    code = ("import sys, recur.mazes, recur.maze_checks; assert 'torch' not in sys.modules; "
            "from recur import batches; assert all(hasattr(batches, n) for n in "
            "('MazeDataset', 'MazeBatches', 'place', 'TensorLoader')); "
            "assert not any(hasattr(recur.mazes, n) for n in ('MazeDataset', 'place'))")
    subprocess.run([sys.executable, "-c", code], check=True)
