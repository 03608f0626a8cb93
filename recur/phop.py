"""p-hop induction: exact, seeded sequences and disjoint train/test splits, in numpy (a task
beyond the paper, where depth is the point; Sanford, Hsu & Telgarsky 2024, "Transformers,
parallel computation, and logarithmic depth"; Saunshi et al. 2025, "Reasoning with latent
thoughts: on the power of looped transformers").

The definition.  A sequence ``x_0 … x_{L-1}`` of tokens in ``0 … vocab-1``.  One hop from
position ``i`` finds the most recent earlier occurrence of the token there and moves to the
position right after it (what an induction head does)::

    hop(x, i) = j + 1,   j = max{ j < i : x_j = x_i }

The p-hop answer starts at the last position and hops p times: ``x[hop^p(x, L-1)]``.  A
sequence is kept only if every one of its p hops exists (``j`` is defined) and moves strictly
back (``j + 1 < i``: an occurrence right before ``i`` would leave the chain where it is).
Sequences are uniform random tokens, kept by that rule (rejection), so the answer is exact
by construction and any kept sequence is a uniformly random one among the valid ones.
One hop is one induction-head step and p hops compose p of them: Sanford et al. show that
a transformer of O(log p) layers suffices and, under a standard conjecture, that fewer fail;
Saunshi et al. find a looped block nearly matches a deep one at equal effective depth.

Randomness.  Candidates are drawn in fixed chunks of :data:`CHUNK` from numpy's PCG64
seeded by ``SeedSequence(seed)``, and kept in order, so ``generate(n, …)`` is a prefix of
``generate(m, …)`` for ``m > n``.  A test pins a digest of one draw, so a numpy that
changed the stream would be noticed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from recur import checks
from recur.datasets import INFO

__all__ = ["CHUNK", "GENERATOR_VERSION", "Split", "chain", "generate", "overlap", "solve",
           "splits"]

#: Candidates drawn per round (fixed, so a sequence does not depend on ``n``).
CHUNK = 4096
#: Bumped whenever generation changes.
GENERATOR_VERSION = 1
_LENGTH, _VOCAB = INFO["phop"].size, INFO["phop"].channels


class Split(NamedTuple):
    tokens: np.ndarray  # (n, length) int64
    answers: np.ndarray  # (n,) int64


def _check(n: int, length: int, hops: int, vocab: int) -> None:
    checks.integer("n", n, 0)
    checks.integer("hops", hops, 1)
    checks.integer("vocab", vocab, 2)
    checks.integer("length", length, hops + 2)  # the shortest sequence with p hops


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.SeedSequence):
        return np.random.Generator(np.random.PCG64(seed))
    if not checks.is_integer(seed) or seed < 0:
        raise checks.bad("seed", seed, "an integer >= 0 or a numpy.random.SeedSequence")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed))))


def _follow(x: np.ndarray, hops: int, vocab: int):
    """(answers, valid) of a batch ``x`` (m, L): a table of the last position seen for
    each token, swept left to right, gives every position's earlier occurrence at once."""
    m, length = x.shape
    rows = np.arange(m)
    seen = np.full((m, vocab), -1, dtype=np.int64)  # last position of each token so far
    earlier = np.empty((m, length), dtype=np.int64)  # j for every position (-1: none)
    for i in range(length):
        earlier[:, i] = seen[rows, x[:, i]]
        seen[rows, x[:, i]] = i
    pos = np.full(m, length - 1, dtype=np.int64)
    valid = np.ones(m, dtype=bool)
    for _ in range(hops):
        j = earlier[rows, pos]
        valid &= (j >= 0) & (j + 1 < pos)
        pos = np.where(valid, j + 1, pos)
    return x[rows, pos], valid


def generate(n: int, length: int = _LENGTH, hops: int = 4, vocab: int = _VOCAB, seed=0):
    """``n`` p-hop sequences and their answers: ``tokens`` int64 (n, length) and
    ``answers`` int64 (n,), the same for the same arguments on every machine."""
    _check(n, length, hops, vocab)
    rng = _rng(seed)
    kept_x, kept_y, have, drawn = [], [], 0, 0
    while have < n:
        if drawn >= 64 * CHUNK + 256 * n:
            raise ValueError(f"only {have} of {drawn} random sequences of length {length} "
                             f"have {hops} hops over {vocab} tokens: use longer sequences, "
                             f"fewer hops or more tokens")
        x = rng.integers(0, vocab, size=(CHUNK, length), dtype=np.int64)
        y, valid = _follow(x, hops, vocab)
        kept_x.append(x[valid])
        kept_y.append(y[valid])
        have, drawn = have + int(valid.sum()), drawn + CHUNK
    tokens = np.concatenate(kept_x)[:n] if kept_x else np.zeros((0, length), np.int64)
    answers = np.concatenate(kept_y)[:n] if kept_y else np.zeros(0, np.int64)
    return tokens, answers


def chain(row, hops: int) -> list[tuple[int, int]]:
    """The hops of one sequence, for showing: ``(j, j + 1)`` per hop, the earlier
    occurrence of the current token and the position after it, where the next hop starts
    (the answer is the token at the last one).  A ValueError where a hop does not exist."""
    row = np.asarray(row).tolist()
    i, out = len(row) - 1, []
    for k in range(1, hops + 1):
        j = next((j for j in range(i - 1, -1, -1) if row[j] == row[i]), None)
        if j is None or j + 1 == i:
            raise ValueError(f"hop {k} of this sequence does not exist (no earlier occurrence "
                             f"of the token at position {i} that moves back)")
        out.append((j, j + 1))
        i = j + 1
    return out


def solve(tokens, hops: int) -> np.ndarray:
    """The p-hop answer of every sequence by plain pointer following (:func:`chain`),
    written apart from the generator (the tests' oracle); -1 where a hop does not exist or
    does not move back."""
    out = []
    for row in np.asarray(tokens).tolist():
        try:
            out.append(row[chain(row, hops)[-1][1]])
        except ValueError:
            out.append(-1)
    return np.asarray(out, dtype=np.int64)


def _keys(tokens: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in np.ascontiguousarray(tokens, dtype=np.int64)]


def overlap(train, test) -> int:
    """How many sequences of ``test`` also occur in ``train`` (token arrays)."""
    seen = set(_keys(train))
    return sum(k in seen for k in _keys(test))


def splits(n_train: int, n_test: int, length: int = _LENGTH, hops: int = 4,
           vocab: int = _VOCAB, seed: int = 0) -> tuple[Split, Split]:
    """Train from one seed stream, test from another minus every sequence also in train,
    so the two never overlap (by construction; :func:`overlap` checks it)."""
    checks.integer("n_test", n_test, 0)
    if not checks.is_integer(seed) or seed < 0:
        raise checks.bad("seed", seed, "an integer >= 0")
    train_ss, test_ss = np.random.SeedSequence(int(seed)).spawn(2)
    train = Split(*generate(n_train, length, hops, vocab, train_ss))
    seen = set(_keys(train.tokens))
    want = n_test
    for _ in range(6):  # draw more candidates until n_test of them are new
        x, y = generate(want, length, hops, vocab, test_ss)
        fresh = np.flatnonzero([k not in seen for k in _keys(x)])
        if len(fresh) >= n_test:
            return train, Split(x[fresh[:n_test]], y[fresh[:n_test]])
        want = int(want * 2 + 16)
    raise ValueError(f"cannot draw {n_test} test sequences that are not among {n_train} "
                     f"training ones: too few distinct sequences of length {length} over "
                     f"{vocab} tokens; use longer sequences or more tokens")
