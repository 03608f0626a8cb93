"""What the features do (paper section 5, A.5–A.7): activation reuse, linear probes, CKA
and feature visualisation.  Functions take models and tensors and return numbers or
arrays; the notebooks plot them."""
from __future__ import annotations

import math

import numpy as np
import torch


# --------------------------------------------------------------------------- features
@torch.no_grad()
def module_features(net, x: torch.Tensor, batch_size: int = 256) -> list[torch.Tensor]:
    """Features after every module (feed-forward) or iteration (recurrent), one forward
    pass per batch (``net.trace``), on the CPU in float32: a list of (N, C, H, W) or (N, D)."""
    net.eval()
    chunks = None
    for start in range(0, len(x), batch_size):
        feats = net.trace(x[start:start + batch_size], outputs=False)["features"]
        feats = [f.float().cpu() for f in feats]
        chunks = [[f] for f in feats] if chunks is None else [c + [f] for c, f in zip(chunks, feats)]
    return [torch.cat(c) for c in chunks]


# --------------------------------------------------------------------------- activation reuse
def activation_reuse(features: list[torch.Tensor]) -> dict:
    """Paper Fig. 6 / 9–11.  For every image–filter pair, the number of positive
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


def _hsic_biased(k: np.ndarray, l: np.ndarray) -> float:
    n = len(k)
    h = np.eye(n) - 1.0 / n
    return float(np.sum((h @ k @ h) * (h @ l @ h)))


def _hsic_unbiased(k: np.ndarray, l: np.ndarray) -> float:
    """Song et al. (2012) unbiased HSIC estimator, as in Nguyen et al. (2021)."""
    n = len(k)
    if n < 4:
        raise ValueError("the unbiased HSIC estimator needs at least 4 examples")
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(l, 0.0)
    ones = np.ones(n)
    kl = k @ l
    value = (np.trace(kl) + (ones @ k @ ones) * (ones @ l @ ones) / ((n - 1) * (n - 2))
             - 2.0 / (n - 2) * (ones @ kl @ ones))
    return float(value / (n * (n - 3)))


def linear_cka(x, y, debiased: bool = False) -> float:
    """Linear CKA (Kornblith et al. 2019) between representations (N, ...) of the same N
    examples, computed in float64; ``debiased`` uses the unbiased HSIC estimator."""
    k, l = _gram(x), _gram(y)
    if len(k) != len(l):
        raise ValueError(f"x and y must describe the same examples: {len(k)} vs {len(l)}")
    hsic = _hsic_unbiased if debiased else _hsic_biased
    return hsic(k, l) / math.sqrt(hsic(k, k) * hsic(l, l))


class MinibatchCKA:
    """Minibatch CKA (Nguyen et al. 2021): unbiased HSIC averaged over minibatches, for
    representations too large to hold at once.  ``update(x, y)`` per batch (>= 4 rows),
    then ``value()``."""

    def __init__(self):
        self.xy = self.xx = self.yy = 0.0
        self.batches = 0

    def update(self, x, y) -> None:
        k, l = _gram(x), _gram(y)
        self.xy += _hsic_unbiased(k, l)
        self.xx += _hsic_unbiased(k, k)
        self.yy += _hsic_unbiased(l, l)
        self.batches += 1

    def value(self) -> float:
        if not self.batches:
            raise ValueError("no batches seen")
        return self.xy / math.sqrt(self.xx * self.yy)


def cka_matrix(features_a: list, features_b: list, debiased: bool = False) -> np.ndarray:
    """CKA between every layer of one net (rows) and every layer of another (columns)."""
    grams_a = [_gram(f) for f in features_a]
    grams_b = [_gram(f) for f in features_b]
    hsic = _hsic_unbiased if debiased else _hsic_biased
    self_a = [hsic(k, k) for k in grams_a]
    self_b = [hsic(l, l) for l in grams_b]
    return np.array([[hsic(k, l) / math.sqrt(sa * sb) for l, sb in zip(grams_b, self_b)]
                     for k, sa in zip(grams_a, self_a)])


# --------------------------------------------------------------------------- linear probes
def linear_probes(train_features: list, y_train, test_features: list, y_test, *,
                  pool: bool = False, max_iter: int = 300) -> list[dict]:
    """Paper Table 3: a linear classifier (multinomial logistic regression on standardised
    features) trained on the frozen features after every block or iteration; train and
    test accuracy (%) per module.  ``pool``: global average pooling first."""
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
        out.append({"module": k, "train_acc": 100.0 * clf.score(a, np.asarray(y_train)),
                    "test_acc": 100.0 * clf.score(b, np.asarray(y_test))})
    return out


# --------------------------------------------------------------------------- feature visualisation
def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Squared (l2) differences between neighbours in four directions: horizontal,
    vertical and both diagonals."""
    return (((x[..., :, 1:] - x[..., :, :-1]) ** 2).mean()
            + ((x[..., 1:, :] - x[..., :-1, :]) ** 2).mean()
            + ((x[..., 1:, 1:] - x[..., :-1, :-1]) ** 2).mean()
            + ((x[..., 1:, :-1] - x[..., :-1, 1:]) ** 2).mean())


def visualise_filter(net, layer: int, filter: int, *, shape=(1, 3, 32, 32), steps: int = 1000,
                     lr: float = 0.01, jitter: int = 2, l2: float = 0.0, tv: float = 0.0,
                     bn: float = 0.0, seed: int = 0) -> torch.Tensor:
    """An input that maximises the l2 norm of one filter's activation after module (or
    iteration) ``layer`` (1-based), paper A.6: Adam with a cosine schedule, random
    wrap-around pixel shifts (jitter), an l2 image prior, total variation and, for nets
    with BatchNorm, the DeepInversion penalty that keeps the first BatchNorm's batch
    statistics near its running ones.  Returns the image (shape) on the CPU."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    device = next(net.parameters()).device
    g = torch.Generator().manual_seed(seed)
    x = (0.1 * torch.randn(shape, generator=g)).to(device).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    first_bn = next((m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)), None)
    captured = {}
    hook = None
    if first_bn is not None and bn > 0:
        hook = first_bn.register_forward_hook(lambda m, i, o: captured.__setitem__("in", i[0]))
    try:
        for _ in range(steps):
            dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist()
                      if jitter else (0, 0))
            shifted = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
            feats = net.trace(shifted, iterations=None, outputs=False)["features"]
            act = feats[layer - 1][:, filter]
            loss = -act.norm() + l2 * x.pow(2).mean() + tv * total_variation(x)
            if hook is not None:
                h = captured["in"]
                mean, var = h.mean((0, 2, 3)), h.var((0, 2, 3), unbiased=False)
                loss = loss + bn * ((mean - first_bn.running_mean).norm()
                                    + (var - first_bn.running_var).norm())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    finally:
        if hook is not None:
            hook.remove()
        for p in net.parameters():
            p.requires_grad_(True)
    return x.detach().cpu()


def regulariser_weights(layer: int, layers: int, *, l2: float = 0.64, tv: float = 1.0,
                        bn: float = 10.0) -> dict:
    """Paper A.6: regulariser weights grow linearly with depth, from 0 to their full
    value at the last layer."""
    f = layer / layers
    return {"l2": l2 * f, "tv": tv * f, "bn": bn * f}
