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
    """Paper A.6: anisotropic total variation in four directions (horizontal, vertical and
    both diagonals), each the l2 norm of the differences between neighbours divided by
    the square root of their number (a root-mean-square difference, so the weight does
    not depend on the image size); per image, averaged over the batch."""
    diffs = (x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :],
             x[..., 1:, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, 1:])
    return sum(d.flatten(1).norm(dim=1) / math.sqrt(d[0].numel()) for d in diffs).mean()


def _feature(net, x: torch.Tensor, layer: int) -> torch.Tensor:
    """Features after module (or iteration) ``layer`` (1-based), through ``net.trace``; a
    recurrent DepthNet runs only the iterations needed (and may run more than trained)."""
    from recur.models.net import DepthNet

    if isinstance(layer, bool) or not isinstance(layer, int) or layer < 1:
        raise ValueError(f"layer must be a positive integer (1-based), got {layer!r}")
    iterations = layer if isinstance(net, DepthNet) and net.recurrent else None
    feats = net.trace(x, iterations=iterations, outputs=False)["features"]
    if layer > len(feats):
        raise ValueError(f"layer {layer} asked of a net with {len(feats)} modules")
    return feats[layer - 1]


@torch.no_grad()
def activation_norm(net, x: torch.Tensor, layer: int, filter: int) -> torch.Tensor:
    """The l2 norm of filter ``filter``'s activation after module (or iteration) ``layer``,
    one value per image of x (N,), without gradients: what :func:`visualise_filter`
    maximises."""
    return _feature(net, x, layer)[:, filter].flatten(1).norm(dim=1)


@torch.no_grad()
def first_layer_statistics(net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (biased) variance, over images and positions, of the output of
    the net's first ``nn.Conv2d`` on x (in eval mode): the data prior of
    :func:`visualise_filter` for nets without BatchNorm."""
    captured, was_training = {}, net.training
    conv = _first(net, torch.nn.Conv2d)
    hook = conv.register_forward_hook(lambda m, i, o: captured.__setitem__("out", o))
    try:
        net.eval()
        _feature(net, x.to(next(net.parameters()).device), 1)
    finally:
        hook.remove()
        net.train(was_training)
    return _moments(captured["out"])


def _first(net, kind):
    found = next((m for m in net.modules() if isinstance(m, kind)), None)
    if found is None:
        raise ValueError(f"the net has no {kind.__name__}")
    return found


def _moments(h: torch.Tensor):
    return h.mean((0, 2, 3)), h.var((0, 2, 3), unbiased=False)


PROJECTIONS = ("mean", "range", "none")


def _projector(reference: torch.Tensor | None, project: str):
    """The map applied to the optimised batch at the start and after every step."""
    if project not in PROJECTIONS:
        raise ValueError(f"project must be one of {PROJECTIONS}, got {project!r}")
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


def visualise_filter(net, layer: int, filter: int, *, shape=None, batch: int | None = None,
                     steps: int = 1000, lr: float = 0.01, jitter: int | None = None,
                     main: float = 1.0, tv: float = 0.0, bn: float = 0.0, l2: float = 0.0,
                     reference: torch.Tensor | None = None, project: str = "mean",
                     candidates: int = 16, seed: int = 0) -> torch.Tensor:
    """A batch of inputs that maximise the l2 norm of one filter's activation after module
    (or iteration) ``layer`` (1-based; features from ``net.trace``), paper A.6.

    Loss, minimised with Adam (initial ``lr``) and cosine annealing over ``steps``::

        - main · mean_i ||a_{layer,filter}(x_i)||_2 / sqrt(P)  + tv · TV(x)
        + bn · (||mu - mu_ref||_2 + ||var - var_ref||_2)       + l2 · mean_i ||x_i||_2

    - the main loss is the paper's sum of per-image activation norms, divided by the batch
      size and by sqrt(P), P the feature map's positions (a root-mean-square activation:
      constant factors, so that the weights do not depend on batch or map size);
    - every step the batch is rolled (wrapping round, ``torch.roll``) by shifts drawn
      uniformly from [-jitter, +jitter] in both axes (``jitter=None``: the image size, the
      paper's ±32 for 32×32); activation and total variation (:func:`total_variation`,
      four directions, l2) are taken on the rolled batch;
    - the third term is DeepInversion's penalty on the per-channel batch statistics at the
      first layer: for a net with BatchNorm, of the first BatchNorm's input against its
      running statistics; for a net without (the ConvNets), of the first ``nn.Conv2d``'s
      output against that layer's statistics on ``reference``, a batch of real,
      normalised inputs, measured once (:func:`first_layer_statistics`).  ``bn > 0`` needs
      one of the two.

    The optimised variable is the normalised input.  With a ``reference``, ``project``
    keeps it image-like, at the start and after every step: ``"mean"`` (default) shifts
    every image and channel to the reference's mean brightness and clamps it to the
    reference's range [min, max] (alternately, three times); ``"range"`` only clamps;
    ``"none"`` does nothing.  Fixing the brightness rules out the trivial maximiser of a
    ReLU net without BatchNorm, most of whose filters respond most to uniform regions: a
    constant black or white image (what the first layer, which has no regulariser, gives
    with ``"range"``); contrast and pattern stay free.  The start is, for each image of
    the batch, the most activating of ``candidates`` seeded standard-normal images
    (projected), so that filters silent on most noise still get a gradient.

    ``shape``: (B, C, H, W) or (C, H, W) of the batch (default: the reference's image
    shape, else (3, 32, 32)); ``batch`` overrides B (default: B of a 4-d shape, else 1;
    the paper: 64).  :func:`regulariser_weights` gives the paper's ``main``/``tv``/``bn``
    per layer.  The paper: ``steps=1000, lr=0.01, batch=64``; the quick profile:
    ``steps=300, lr=0.1, batch=1`` (about half a second on one CPU core for a digits
    ConvNet of width 16).  The net is left as found (mode and ``requires_grad``).
    Returns the batch (B, C, H, W) on the CPU; :func:`to_display` readies it for
    ``imshow``."""
    if shape is None:
        shape = tuple(reference.shape[1:]) if reference is not None else (3, 32, 32)
    shape = tuple(shape)
    if len(shape) == 3:
        shape = (1,) + shape
    if len(shape) != 4:
        raise ValueError(f"shape must be (B, C, H, W) or (C, H, W), got {shape!r}")
    if batch is not None:
        shape = (int(batch),) + shape[1:]
    jitter = max(shape[-2:]) if jitter is None else int(jitter)
    device = next(net.parameters()).device
    was_training = net.training
    flags = [p.requires_grad for p in net.parameters()]
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    if reference is not None:
        reference = reference.to(device=device, dtype=torch.float32)
    project = _projector(reference, project)
    target, hook, captured = None, None, {}
    try:
        if bn > 0:
            first_bn = next((m for m in net.modules()
                             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)), None)
            if first_bn is not None:
                target = (first_bn.running_mean, first_bn.running_var)
                hook = first_bn.register_forward_hook(
                    lambda m, i, o: captured.__setitem__("h", i[0]))
            elif reference is not None:
                target = first_layer_statistics(net, reference)
                hook = _first(net, torch.nn.Conv2d).register_forward_hook(
                    lambda m, i, o: captured.__setitem__("h", o))
            else:
                raise ValueError("bn > 0 needs a net with BatchNorm or a reference batch")

        g = torch.Generator().manual_seed(seed)
        k = max(1, int(candidates))
        with torch.no_grad():
            pool = project(torch.randn((shape[0] * k,) + shape[1:], generator=g).to(device))
            score = torch.cat([activation_norm(net, c, layer, filter) for c in pool.split(256)])
            x = pool.view(shape[0], k, *shape[1:])[torch.arange(shape[0]),
                                                   score.view(shape[0], k).argmax(1)]
        x = x.clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        for _ in range(steps):
            dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist()
                      if jitter else (0, 0))
            rolled = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
            a = _feature(net, rolled, layer)[:, filter].flatten(1)
            loss = -main * (a.norm(dim=1) / math.sqrt(a.shape[1])).mean()
            if tv:
                loss = loss + tv * total_variation(rolled)
            if l2:
                loss = loss + l2 * x.flatten(1).norm(dim=1).mean()
            if target is not None:
                mean, var = _moments(captured["h"])
                loss = loss + bn * ((mean - target[0]).norm() + (var - target[1]).norm())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                x.copy_(project(x))
    finally:
        if hook is not None:
            hook.remove()
        for p, flag in zip(net.parameters(), flags):
            p.requires_grad_(flag)
        net.train(was_training)
    return x.detach().cpu()


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
    """Paper A.6 (CIFAR-10): the weights of :func:`visualise_filter` at ``layer`` of
    ``layers`` (1-based), ``{"main", "tv", "bn"}``.  ``tv`` and ``bn`` are 0 at the first
    layer and grow linearly in (layer - 1)/(layers - 1) to the paper's last-layer values
    (1.0, 10).  ``main`` is the main loss's (activation norm's) coefficient: the paper
    gives only its last-layer value (0.64); we take 1.0 at the first layer and interpolate
    linearly to it.  One layer (``layers == 1``) gets the first layer's weights."""
    if not 1 <= layer <= layers:
        raise ValueError(f"layer must be in 1..{layers}, got {layer!r}")
    f = (layer - 1) / (layers - 1) if layers > 1 else 0.0
    return {"main": 1.0 + (main - 1.0) * f, "tv": tv * f, "bn": bn * f}
