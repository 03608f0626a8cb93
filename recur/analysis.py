"""What the features do (paper section 5, A.5, A.7): module features, activation reuse,
linear probes and CKA.  Functions take models and tensors and return numbers or arrays;
the notebooks plot them.  Modules and iterations count from 1, as in the paper.  Feature
visualisation (A.6) is :mod:`recur.visualise`."""
from __future__ import annotations

import math

import numpy as np
import torch

from recur import checks


# --------------------------------------------------------------------------- features
@torch.no_grad()
def module_features(net, x: torch.Tensor, batch_size: int = 256) -> list[torch.Tensor]:
    """Features after every module (feed-forward) or iteration (recurrent), one forward
    pass per batch (``net.trace``), on the CPU in float32: a list of (N, C, H, W) or (N, D)."""
    checks.integer("batch_size", batch_size, 1)
    net.eval()
    chunks = None
    for start in range(0, len(x), batch_size):
        feats = net.trace(x[start:start + batch_size], outputs=False)["features"]
        feats = [f.float().cpu() for f in feats]
        chunks = [c + [f] for c, f in zip(chunks or [[] for _ in feats], feats)]
    return [torch.cat(c) for c in chunks]


# --------------------------------------------------------------------------- activation reuse
def activation_reuse(features: list[torch.Tensor]) -> dict:
    """Paper Fig. 6 / 9–11.  For every image–channel pair, the number of positive
    activations at each iteration divided by the number at that pair's most active
    iteration; ``ratios`` holds the values of the other (non-maximal) iterations.

    Features: a list over iterations of (N, C, H, W).  Pairs never active are skipped."""
    counts = torch.stack([(f > 0).flatten(2).sum(2) for f in features])  # (T, N, C)
    best = counts.max(0).values  # (N, C)
    active = best > 0
    ratio = counts.double() / best.clamp_min(1).double()  # (T, N, C)
    top = counts.argmax(0)  # the most active iteration of each pair
    others = torch.ones_like(ratio, dtype=torch.bool)
    others.scatter_(0, top[None], False)
    ratios = ratio[others & active[None]].numpy()
    per_pair_min = torch.where(others, ratio, torch.ones_like(ratio)).min(0).values[active]
    return {"ratios": ratios,
            "mean_ratio": float(ratios.mean()) if ratios.size else float("nan"),
            "frac_reused": float((ratios > 0.5).mean()) if ratios.size else float("nan"),
            "frac_pairs_used_everywhere": float((per_pair_min > 0).double().mean()),
            "pairs": int(active.sum())}


# --------------------------------------------------------------------------- CKA
def _gram(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return x @ x.T


def _hsic_biased(kx: np.ndarray, ky: np.ndarray) -> float:
    n = len(kx)
    h = np.eye(n) - 1.0 / n
    return float(np.sum((h @ kx @ h) * (h @ ky @ h)))


def _hsic_unbiased(kx: np.ndarray, ky: np.ndarray) -> float:
    """Song et al. (2012) unbiased HSIC estimator, as in Nguyen et al. (2021)."""
    n = len(kx)
    if n < 4:
        raise ValueError("the unbiased HSIC estimator needs at least 4 examples")
    kx, ky = kx.copy(), ky.copy()
    np.fill_diagonal(kx, 0.0)
    np.fill_diagonal(ky, 0.0)
    ones = np.ones(n)
    kxy = kx @ ky
    value = (np.trace(kxy) + (ones @ kx @ ones) * (ones @ ky @ ones) / ((n - 1) * (n - 2))
             - 2.0 / (n - 2) * (ones @ kxy @ ones))
    return float(value / (n * (n - 3)))


def linear_cka(x, y, debiased: bool = False) -> float:
    """Linear CKA (Kornblith et al. 2019) between representations (N, ...) of the same N
    examples, computed in float64; ``debiased`` uses the unbiased HSIC estimator."""
    return float(cka_matrix([x], [y], debiased)[0, 0])


class MinibatchCKA:
    """Minibatch CKA (Nguyen et al. 2021): unbiased HSIC averaged over minibatches, for
    representations too large to hold at once.  ``update(x, y)`` per batch (>= 4 rows),
    then ``value()``."""

    def __init__(self):
        self.xy = self.xx = self.yy = 0.0
        self.batches = 0

    def update(self, x, y) -> None:
        kx, ky = _gram(x), _gram(y)
        self.xy += _hsic_unbiased(kx, ky)
        self.xx += _hsic_unbiased(kx, kx)
        self.yy += _hsic_unbiased(ky, ky)
        self.batches += 1

    def value(self) -> float:
        if not self.batches:
            raise ValueError("no batches seen")
        return self.xy / math.sqrt(self.xx * self.yy)


def cka_matrix(features_a: list, features_b: list, debiased: bool = False) -> np.ndarray:
    """CKA between every module of one net (rows) and every module of another (columns)."""
    grams_a = [_gram(f) for f in features_a]
    grams_b = [_gram(f) for f in features_b]
    if len({len(g) for g in grams_a + grams_b}) > 1:
        raise ValueError("the features must describe the same examples: "
                         f"{sorted({len(g) for g in grams_a + grams_b})} rows")
    hsic = _hsic_unbiased if debiased else _hsic_biased
    self_a = [hsic(kx, kx) for kx in grams_a]
    self_b = [hsic(ky, ky) for ky in grams_b]
    return np.array([[hsic(kx, ky) / math.sqrt(sa * sb) for ky, sb in zip(grams_b, self_b)]
                     for kx, sa in zip(grams_a, self_a)])


# --------------------------------------------------------------------------- linear probes
def linear_probes(train_features: list, y_train, test_features: list, y_test, *,
                  pool: bool = False, max_iter: int = 300) -> list[dict]:
    """Paper Table 3: a linear classifier (multinomial logistic regression on standardised
    features) trained on the frozen features after every block or iteration; train and
    test accuracy (%) per module, and which test images it gets right (``test_correct``,
    bools).  ``pool``: global average pooling first."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = []
    for k, (ftr, fte) in enumerate(zip(train_features, test_features), start=1):
        if pool and ftr.ndim == 4:
            ftr, fte = ftr.mean((2, 3)), fte.mean((2, 3))
        a = np.asarray(ftr, dtype=np.float64).reshape(len(ftr), -1)
        b = np.asarray(fte, dtype=np.float64).reshape(len(fte), -1)
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
        clf.fit(a, np.asarray(y_train))
        right = clf.predict(b) == np.asarray(y_test)
        out.append({"module": k, "train_acc": 100.0 * clf.score(a, np.asarray(y_train)),
                    "test_acc": 100.0 * float(right.mean()), "test_correct": right})
    return out


def update_sizes(net, x: torch.Tensor, iterations: int | None = None) -> list[float]:
    """How far each module moves the features: ``‖h_k − h_{k−1}‖ / ‖h_{k−1}‖`` for
    k = 1 … iterations (``h_0`` the prelude's output; each example's own norms, then the
    mean over examples), all from one forward pass.  Near 0: the iterations have settled
    (a fixed point); large and steady: the features keep moving (an orbit or a drift).
    ``iterations``: run a recurrent net longer (or shorter) than it was trained.  A
    relative size can also fall because ``‖h‖`` grows while the steps stay the same:
    :func:`trajectory` gives the steps and norms too."""
    return trajectory(net, x, iterations)["size"]


@torch.no_grad()
def trajectory(net, x: torch.Tensor, iterations: int | None = None) -> dict[str, list[float]]:
    """Per step k = 1 … iterations, means over the examples of ``x``: ``size`` the
    relative update ``‖h_k − h_{k−1}‖ / ‖h_{k−1}‖`` (:func:`update_sizes`), ``step`` the
    update itself ``‖h_k − h_{k−1}‖`` and ``norm`` the features' size ``‖h_k‖``: steps that
    shrink towards 0 settle; steady steps on growing norms drift."""
    net.eval()
    features = [net.prelude(x)] + net.trace(x, iterations=iterations, outputs=False)["features"]
    out = {"size": [], "step": [], "norm": []}
    for before, after in zip(features, features[1:]):
        moved = (after - before).flatten(1).norm(dim=1)
        out["size"].append(float((moved / before.flatten(1).norm(dim=1).clamp_min(1e-12)).mean()))
        out["step"].append(float(moved.mean()))
        out["norm"].append(float(after.flatten(1).norm(dim=1).mean()))
    return out
