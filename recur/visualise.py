"""Feature visualisation (paper A.6): inputs that maximise one channel's activation after
a module (or iteration), with the paper's regularisers.  Modules and iterations count from
1, as in the paper; a channel is an index into the features, from 0 as in the tensors."""
from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass, replace

import numpy as np
import torch

from recur import checks
from recur.models import iterates


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Paper A.6: anisotropic total variation in four directions (horizontal, vertical and
    both diagonals), each the l2 norm of the differences between neighbours divided by
    the square root of their number (a root-mean-square difference, so the weight does
    not depend on the image size); per image, averaged over the batch."""
    diffs = (x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :],
             x[..., 1:, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, 1:])
    return sum(d.flatten(1).norm(dim=1) / math.sqrt(d[0].numel()) for d in diffs).mean()


def _feature(net, x: torch.Tensor, module: int) -> torch.Tensor:
    """Features after module (or iteration) ``module`` (1-based), through ``net.trace``; a
    net that iterates runs only the iterations needed (and may run more than trained)."""
    checks.integer("module", module, 1)
    feats = net.trace(x, iterations=module if iterates(net) else None, outputs=False)["features"]
    if module > len(feats):
        raise checks.bad("module", module, f"an integer in 1..{len(feats)} (the net's modules)")
    return feats[module - 1]


def _channel_map(net, x: torch.Tensor, module: int, channel: int) -> torch.Tensor:
    """Channel ``channel`` (0-based) of the features after ``module``, flattened: (N, P)."""
    h = _feature(net, x, module)  # (N, C, H, W)
    if not (checks.is_integer(channel) and 0 <= channel < h.shape[1]):
        raise checks.bad("channel", channel, f"an integer in 0..{h.shape[1] - 1} (the "
                                             f"channels after module {module})")
    return h[:, channel].flatten(1)


@torch.no_grad()
def activation_norm(net, x: torch.Tensor, module: int, channel: int) -> torch.Tensor:
    """The l2 norm of channel ``channel``'s activation after module (or iteration) ``module``
    per image of x (N,), without gradients: what :func:`visualise_filter` maximises."""
    return _channel_map(net, x, module, channel).norm(dim=1)


@torch.no_grad()
def first_layer_statistics(net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (biased) variance, over images and positions, of the output of
    the net's first ``nn.Conv2d`` on x (in eval mode): the data prior of
    :func:`visualise_filter` for nets without BatchNorm."""
    with _captured(_first(net, torch.nn.Conv2d), lambda i, o: o) as seen, _frozen(net):
        _feature(net, x.to(next(net.parameters()).device), 1)
    return _moments(seen["h"])


@contextlib.contextmanager
def _captured(layer, take):
    """A dict whose ``"h"`` is ``take(inputs, output)`` of the layer's latest call."""
    seen = {}
    hook = layer.register_forward_hook(lambda m, i, o: seen.__setitem__("h", take(i, o)))
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
    that norm is exactly 0: the channel (a dead ReLU) never responded, so the image shows
    the start and the regularisers, not what the channel prefers; plots should mark it."""
    images: torch.Tensor
    activation: torch.Tensor
    module: int
    channel: int
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
def _start(net, module: int, channel: int, shape: tuple, candidates: int, project,
           g: torch.Generator) -> torch.Tensor:
    """Per image, the most activating of ``candidates`` projected normal images: a leaf."""
    device = next(net.parameters()).device
    pool = project(torch.randn((shape[0] * candidates,) + shape[1:], generator=g).to(device))
    score = torch.cat([activation_norm(net, c, module, channel) for c in pool.split(256)])
    best = score.view(shape[0], candidates).argmax(1)  # (B,)
    x = pool.view(shape[0], candidates, *shape[1:])[torch.arange(shape[0]), best]
    return x.clone().requires_grad_(True)


def _shift(jitter: int, g: torch.Generator) -> tuple[int, int]:
    """A random roll (dy, dx), each uniform in [-jitter, +jitter]; none for jitter 0."""
    return (tuple(torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist()) if jitter
            else (0, 0))


def _loss(net, x: torch.Tensor, shift: tuple, module: int, channel: int, s: FilterSettings,
          prior) -> torch.Tensor:
    """The objective of :func:`visualise_filter` on the batch rolled by ``shift``."""
    rolled = torch.roll(x, shifts=shift, dims=(-2, -1))
    a = _channel_map(net, rolled, module, channel)  # (B, P)
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


def visualise_filter(net, module: int, channel: int, *, reference: torch.Tensor | None = None,
                     settings: FilterSettings | None = None, **options) -> FilterImages:
    """Paper A.6: a batch of inputs that maximise the l2 norm of channel ``channel``'s
    (0-based) activation after module (or iteration) ``module`` (1-based).  Options:
    a :class:`FilterSettings` and/or its fields as keywords, which override it.  Minimised
    over the normalised input, rolled by the jitter, and kept image-like by ``project``::

        - main · mean_i ||a_{module,channel}(x_i)||_2 / sqrt(P)  + tv · TV(x)
        + bn · (||mu - mu_ref||_2 + ||var - var_ref||_2)       + l2 · mean_i ||x_i||_2

    The paper's sum of activation norms over the batch size and sqrt(P), P the map's
    positions (so that the weights depend on neither); TV: :func:`total_variation`; the
    bn term: :func:`_statistics_prior`, which without BatchNorm needs ``reference``, real
    normalised inputs (N, C, H, W).  The net is left as found (mode, ``requires_grad``).
    Returns :class:`FilterImages`: the batch, and per image the channel's final activation
    and whether it is ``silent``; :func:`to_display` readies the images for ``imshow``."""
    s = replace(settings or FilterSettings(), **options)  # unknown keys: TypeError
    checks.integer("module", module, 1)
    checks.integer("channel", channel, 0)
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
            x = _start(net, module, channel, shape, s.candidates, project, g)
            _descend(x, lambda: _loss(net, x, _shift(jitter, g), module, channel, s, prior),
                     project, s.steps, s.lr)
        activation = activation_norm(net, x.detach(), module, channel)  # (B,)
    return FilterImages(x.detach().cpu(), activation.cpu(), module, channel, s)


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


def regulariser_weights(module: int, modules: int, *, main: float = 0.64, tv: float = 1.0,
                        bn: float = 10.0) -> dict:
    """Paper A.6 (CIFAR-10): the weights ``{"main", "tv", "bn"}`` of :func:`visualise_filter`
    at ``module`` of ``modules`` (1-based), linear in (module - 1)/(modules - 1) from (1, 0, 0)
    at the first module (the only one of a one-module net) to the paper's last-module values
    (0.64, 1.0, 10); the paper gives ``main`` only there, we start it at 1."""
    checks.integer("modules", modules, 1)
    if not (checks.is_integer(module) and 1 <= module <= modules):
        raise checks.bad("module", module, f"an integer in 1..{modules}")
    f = (module - 1) / (modules - 1) if modules > 1 else 0.0
    return {"main": 1.0 + (main - 1.0) * f, "tv": tv * f, "bn": bn * f}
