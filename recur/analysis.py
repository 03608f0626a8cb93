"""What the features do (paper section 5, A.5–A.7): activation reuse, linear probes, CKA
and feature visualisation.  Functions take models and tensors and return numbers or
arrays; the notebooks plot them.  Modules, iterations and layers count from 1, as in the
paper; a filter is a channel index, from 0 as in the tensors."""
from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass, replace

import numpy as np
import torch

from recur import checks
from recur.models import iterates


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
    """CKA between every layer of one net (rows) and every layer of another (columns)."""
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
    """Paper A.6: anisotropic total variation in four directions (horizontal, vertical and
    both diagonals), each the l2 norm of the differences between neighbours divided by
    the square root of their number (a root-mean-square difference, so the weight does
    not depend on the image size); per image, averaged over the batch."""
    diffs = (x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :],
             x[..., 1:, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, 1:])
    return sum(d.flatten(1).norm(dim=1) / math.sqrt(d[0].numel()) for d in diffs).mean()


def _feature(net, x: torch.Tensor, layer: int) -> torch.Tensor:
    """Features after module (or iteration) ``layer`` (1-based), through ``net.trace``; a
    net that iterates runs only the iterations needed (and may run more than trained)."""
    checks.integer("layer", layer, 1)
    feats = net.trace(x, iterations=layer if iterates(net) else None, outputs=False)["features"]
    if layer > len(feats):
        raise checks.bad("layer", layer, f"an integer in 1..{len(feats)} (the net's modules)")
    return feats[layer - 1]


def _filter_map(net, x: torch.Tensor, layer: int, filter: int) -> torch.Tensor:
    """Channel ``filter`` (0-based) of the features after ``layer``, flattened: (N, P)."""
    h = _feature(net, x, layer)  # (N, C, H, W)
    if not (checks.is_integer(filter) and 0 <= filter < h.shape[1]):
        raise checks.bad("filter", filter, f"an integer in 0..{h.shape[1] - 1} (the channels "
                                           f"after layer {layer})")
    return h[:, filter].flatten(1)


@torch.no_grad()
def activation_norm(net, x: torch.Tensor, layer: int, filter: int) -> torch.Tensor:
    """The l2 norm of filter ``filter``'s activation after module (or iteration) ``layer``
    per image of x (N,), without gradients: what :func:`visualise_filter` maximises."""
    return _filter_map(net, x, layer, filter).norm(dim=1)


@torch.no_grad()
def first_layer_statistics(net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (biased) variance, over images and positions, of the output of
    the net's first ``nn.Conv2d`` on x (in eval mode): the data prior of
    :func:`visualise_filter` for nets without BatchNorm."""
    with _captured(_first(net, torch.nn.Conv2d), lambda i, o: o) as seen, _frozen(net):
        _feature(net, x.to(next(net.parameters()).device), 1)
    return _moments(seen["h"])


@contextlib.contextmanager
def _captured(module, take):
    """A dict whose ``"h"`` is ``take(inputs, output)`` of the module's latest call."""
    seen = {}
    hook = module.register_forward_hook(lambda m, i, o: seen.__setitem__("h", take(i, o)))
    try:
        yield seen
    finally:
        hook.remove()


@contextlib.contextmanager
def _frozen(net):
    """The net in eval mode without parameter gradients, left as found afterwards."""
    was_training, flags = net.training, [p.requires_grad for p in net.parameters()]
    net.eval().requires_grad_(False)
    try:
        yield net
    finally:
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)
        net.train(was_training)


def _first(net, kind, required: bool = True):
    found = next((m for m in net.modules() if isinstance(m, kind)), None)
    if found is None and required:
        raise ValueError(f"the net has no {kind.__name__}")
    return found


def _moments(h: torch.Tensor):
    return h.mean((0, 2, 3)), h.var((0, 2, 3), unbiased=False)


PROJECTIONS = ("mean", "range", "none")


def _projector(reference: torch.Tensor | None, project: str):
    """Keeps the optimised batch image-like: "mean" shifts each image and channel to the
    reference's mean and clamps it to its [min, max] (three times, alternately), "range"
    only clamps.  A fixed brightness rules out the trivial maximiser of most filters of a
    ReLU net without BatchNorm: a uniform black or white image (what "range" gives)."""
    assert project in PROJECTIONS, project
    if reference is None or project == "none":
        return lambda z: z
    lo, hi = float(reference.min()), float(reference.max())
    if project == "range":
        return lambda z: z.clamp(lo, hi)
    mean = reference.mean((0, 2, 3))[None, :, None, None]

    def brightness(z):
        for _ in range(3):  # shifting and clamping alternately: close to both
            z = (z - z.mean((2, 3), keepdim=True) + mean).clamp(lo, hi)
        return z
    return brightness


@dataclass(frozen=True)
class FilterSettings:
    """The options of :func:`visualise_filter` (paper A.6; the paper: ``steps=1000, lr=0.01,
    batch=64``, the quick profile: ``steps=300, lr=0.1``), validated on creation.  ``lr``:
    Adam's, cosine-annealed.  ``shape``: (B, C, H, W) or (C, H, W) (default: the reference's
    images, else (3, 32, 32)); ``batch`` overrides B.  ``jitter``: the batch is rolled by
    shifts uniform in [-jitter, +jitter] (None: the image size, the paper's ±32 for 32×32).
    ``main``, ``tv``, ``bn``, ``l2``: the loss's weights (:func:`regulariser_weights`).
    ``candidates``: each image starts as the most activating of this many standard-normal
    images (so that filters silent on most noise get a gradient), drawn from ``seed``."""
    steps: int = 1000
    lr: float = 0.01
    shape: tuple | None = None
    batch: int | None = None
    jitter: int | None = None
    main: float = 1.0
    tv: float = 0.0
    bn: float = 0.0
    l2: float = 0.0
    project: str = "mean"
    candidates: int = 16
    seed: int = 0

    def __post_init__(self):
        checks.integer("steps", self.steps, 0)
        checks.integer("batch", self.batch, 1, optional=True)
        checks.integer("jitter", self.jitter, 0, optional=True)
        checks.integer("candidates", self.candidates, 1)
        checks.integer("seed", self.seed)
        checks.one_of("project", self.project, PROJECTIONS)
        for name in ("lr", "main", "tv", "bn", "l2"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value) or (name == "lr" and value <= 0)):
                raise checks.bad(name, value, "a positive number" if name == "lr" else "a number")
        if self.shape is not None and not (len(self.shape) in (3, 4) and all(
                checks.is_integer(n) and n > 0 for n in self.shape)):
            raise checks.bad("shape", self.shape, "(B, C, H, W) or (C, H, W), positive integers")


@dataclass(frozen=True)
class FilterImages:
    """What :func:`visualise_filter` returns.  ``images``: (B, C, H, W) on the CPU;
    ``activation``: (B,), :func:`activation_norm` of each final image.  ``silent``: (B,),
    that norm is exactly 0: the filter (a dead ReLU) never responded, so the image shows
    the start and the regularisers, not what the filter prefers; plots should mark it."""
    images: torch.Tensor
    activation: torch.Tensor
    layer: int
    filter: int
    settings: FilterSettings

    @property
    def silent(self) -> torch.Tensor:
        return self.activation == 0


@contextlib.contextmanager
def _statistics_prior(net, reference: torch.Tensor | None, bn: float):
    """DeepInversion's penalty on the first layer's batch statistics in the last forward
    pass (None for ``bn <= 0``): the first BatchNorm's input against its running ones, or
    without BatchNorm, the first Conv2d's output against its ones on ``reference``."""
    if not bn > 0:
        yield None
        return
    first_bn = _first(net, torch.nn.modules.batchnorm._BatchNorm, required=False)
    if first_bn is not None:
        target = (first_bn.running_mean, first_bn.running_var)
        where = _captured(first_bn, lambda i, o: i[0])
    elif reference is not None:
        target = first_layer_statistics(net, reference)
        where = _captured(_first(net, torch.nn.Conv2d), lambda i, o: o)
    else:
        raise ValueError("bn > 0 needs a net with BatchNorm or a reference batch")

    def penalty(seen: dict) -> torch.Tensor:
        mean, var = _moments(seen["h"])
        return (mean - target[0]).norm() + (var - target[1]).norm()
    with where as seen:
        yield lambda: penalty(seen)


@torch.no_grad()
def _start(net, layer: int, filter: int, shape: tuple, candidates: int, project,
           g: torch.Generator) -> torch.Tensor:
    """Per image, the most activating of ``candidates`` projected normal images: a leaf."""
    device = next(net.parameters()).device
    pool = project(torch.randn((shape[0] * candidates,) + shape[1:], generator=g).to(device))
    score = torch.cat([activation_norm(net, c, layer, filter) for c in pool.split(256)])
    best = score.view(shape[0], candidates).argmax(1)  # (B,)
    x = pool.view(shape[0], candidates, *shape[1:])[torch.arange(shape[0]), best]
    return x.clone().requires_grad_(True)


def _shift(jitter: int, g: torch.Generator) -> tuple[int, int]:
    """A random roll (dy, dx), each uniform in [-jitter, +jitter]; none for jitter 0."""
    return (tuple(torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist()) if jitter
            else (0, 0))


def _loss(net, x: torch.Tensor, shift: tuple, layer: int, filter: int, s: FilterSettings,
          prior) -> torch.Tensor:
    """The objective of :func:`visualise_filter` on the batch rolled by ``shift``."""
    rolled = torch.roll(x, shifts=shift, dims=(-2, -1))
    a = _filter_map(net, rolled, layer, filter)  # (B, P)
    loss = -s.main * (a.norm(dim=1) / math.sqrt(a.shape[1])).mean()
    if s.tv:
        loss = loss + s.tv * total_variation(rolled)
    if s.l2:
        loss = loss + s.l2 * x.flatten(1).norm(dim=1).mean()
    if prior is not None:
        loss = loss + s.bn * prior()
    return loss


def _descend(x: torch.Tensor, objective, project, steps: int, lr: float) -> None:
    """Minimise ``objective()`` over x in place: cosine-annealed Adam, then ``project``."""
    opt = torch.optim.Adam([x], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        loss = objective()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            x.copy_(project(x))


def visualise_filter(net, layer: int, filter: int, *, reference: torch.Tensor | None = None,
                     settings: FilterSettings | None = None, **options) -> FilterImages:
    """Paper A.6: a batch of inputs that maximise the l2 norm of filter ``filter``'s
    (0-based channel) activation after module (or iteration) ``layer`` (1-based).  Options:
    a :class:`FilterSettings` and/or its fields as keywords, which override it.  Minimised
    over the normalised input, rolled by the jitter, and kept image-like by ``project``::

        - main · mean_i ||a_{layer,filter}(x_i)||_2 / sqrt(P)  + tv · TV(x)
        + bn · (||mu - mu_ref||_2 + ||var - var_ref||_2)       + l2 · mean_i ||x_i||_2

    The paper's sum of activation norms over the batch size and sqrt(P), P the map's
    positions (so that the weights depend on neither); TV: :func:`total_variation`; the
    bn term: :func:`_statistics_prior`, which without BatchNorm needs ``reference``, real
    normalised inputs (N, C, H, W).  The net is left as found (mode, ``requires_grad``).
    Returns :class:`FilterImages`: the batch, and per image the filter's final activation
    and whether it is ``silent``; :func:`to_display` readies the images for ``imshow``."""
    s = replace(settings or FilterSettings(), **options)  # unknown keys: TypeError
    checks.integer("layer", layer, 1)
    checks.integer("filter", filter, 0)
    shape = tuple(s.shape or (reference.shape[1:] if reference is not None else (3, 32, 32)))
    shape = shape if len(shape) == 4 else (1,) + shape
    shape = shape if s.batch is None else (s.batch,) + shape[1:]  # (B, C, H, W)
    jitter = max(shape[-2:]) if s.jitter is None else s.jitter
    g = torch.Generator().manual_seed(s.seed)
    with _frozen(net):
        if reference is not None:
            reference = reference.to(device=next(net.parameters()).device, dtype=torch.float32)
        project = _projector(reference, s.project)
        with _statistics_prior(net, reference, s.bn) as prior:
            x = _start(net, layer, filter, shape, s.candidates, project, g)
            _descend(x, lambda: _loss(net, x, _shift(jitter, g), layer, filter, s, prior),
                     project, s.steps, s.lr)
        activation = activation_norm(net, x.detach(), layer, filter)  # (B,)
    return FilterImages(x.detach().cpu(), activation.cpu(), layer, filter, s)


def to_display(img: torch.Tensor) -> np.ndarray:
    """Images ready for ``imshow``: each rescaled to [0, 1] (its own min and max) and
    channels last; (C, H, W) gives (H, W) for one channel, else (H, W, C); (B, C, H, W)
    gives (B, H, W) or (B, H, W, C)."""
    x = torch.as_tensor(img).detach().float().cpu()
    single = x.ndim == 3
    if single:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"expected (C, H, W) or (B, C, H, W), got {tuple(x.shape)}")
    lo = x.flatten(1).min(1).values[:, None, None, None]
    hi = x.flatten(1).max(1).values[:, None, None, None]
    x = ((x - lo) / (hi - lo).clamp_min(1e-12)).permute(0, 2, 3, 1)
    if x.shape[-1] == 1:
        x = x[..., 0]
    out = x.numpy()
    return out[0] if single else out



def regulariser_weights(layer: int, layers: int, *, main: float = 0.64, tv: float = 1.0,
                        bn: float = 10.0) -> dict:
    """Paper A.6 (CIFAR-10): the weights ``{"main", "tv", "bn"}`` of :func:`visualise_filter`
    at ``layer`` of ``layers`` (1-based), linear in (layer - 1)/(layers - 1) from (1, 0, 0)
    at the first layer (the only one of a one-layer net) to the paper's last-layer values
    (0.64, 1.0, 10); the paper gives ``main`` only there, we start it at 1."""
    checks.integer("layers", layers, 1)
    if not (checks.is_integer(layer) and 1 <= layer <= layers):
        raise checks.bad("layer", layer, f"an integer in 1..{layers}")
    f = (layer - 1) / (layers - 1) if layers > 1 else 0.0
    return {"main": 1.0 + (main - 1.0) * f, "tv": tv * f, "bn": bn * f}
