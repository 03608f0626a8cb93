"""The paper's architecture families as (prelude, make_module, coda) (SPEC 2; paper 2, A.1).

All convolutions are 3×3; ReLU follows every layer except the last.  Each ``*_parts``
function returns the prelude, a function that makes one freshly initialised module, and
the coda; the factory calls ``make_module`` once (recurrent) or n times (feed-forward).
"""
from __future__ import annotations

import copy

from torch import nn

from recur.models.net import Module


def conv3x3(cin: int, cout: int, *, stride: int = 1, padding: int = 1, bias: bool = False,
            dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=padding, bias=bias,
                     dilation=dilation)


# --------------------------------------------------------------------------- MLP (2.1)
class LinearModule(Module):
    """Linear(w, w) → ReLU: one layer."""

    layers = 1

    def __init__(self, width: int):
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, h, iteration: int = 0):
        return self.linear(h).relu()


def mlp_parts(in_features: int, width: int, classes: int):
    """flatten → Linear(in, w) → ReLU → [module] → Linear(w, classes); depth = n + 2."""
    prelude = nn.Sequential(nn.Flatten(), nn.Linear(in_features, width), nn.ReLU())
    return prelude, lambda: LinearModule(width), nn.Linear(width, classes)


# --------------------------------------------------------------------------- ConvNet (2.2)
class ConvModule(Module):
    """Conv(w→w, padding 1, bias) → ReLU: one layer."""

    layers = 1

    def __init__(self, width: int):
        super().__init__()
        self.conv = conv3x3(width, width, bias=True)

    def forward(self, h, iteration: int = 0):
        return self.conv(h).relu()


def convnet_parts(channels: int, width: int, classes: int):
    """Conv(in→w/2) → Conv(w/2→w) (no padding) → [module] → MaxPool(3) → Conv(w→2w) →
    MaxPool(3) → Linear(8w, classes).  32×32: 30, 28, pool 9, 7, pool 2 → 2·2·2w = 8w."""
    prelude = nn.Sequential(conv3x3(channels, width // 2, padding=0, bias=True), nn.ReLU(),
                            conv3x3(width // 2, width, padding=0, bias=True), nn.ReLU())
    coda = nn.Sequential(nn.MaxPool2d(3), conv3x3(width, 2 * width, padding=0, bias=True),
                         nn.ReLU(), nn.MaxPool2d(3), nn.Flatten(),
                         nn.Linear(8 * width, classes))
    return prelude, lambda: ConvModule(width), coda


# --------------------------------------------------------------------------- residual (2.3–2.5)
class ResidualModule(Module):
    """Two basic blocks (conv → [BN] → ReLU → conv → [BN], + identity, → ReLU): 4 layers.

    ``norm_iterations`` > 0 adds BatchNorm after every conv, one set per iteration (paper
    3.1: the input statistics differ from iteration to iteration), while the convolutions
    are shared.  ``dilation`` dilates every conv of the module (paper Table 2).
    """

    layers = 4

    def __init__(self, width: int, *, norm_iterations: int = 0, dilation: int = 1):
        super().__init__()
        self.convs = nn.ModuleList(conv3x3(width, width, padding=dilation, dilation=dilation)
                                   for _ in range(4))
        self.norms = nn.ModuleList(nn.ModuleList(nn.BatchNorm2d(width) for _ in range(4))
                                   for _ in range(norm_iterations))

    def _norm(self, iteration: int, j: int):
        if not len(self.norms):
            return nn.Identity()
        return self.norms[min(iteration, len(self.norms) - 1)][j]

    def forward(self, h, iteration: int = 0):
        for b in (0, 2):  # two basic blocks
            out = self._norm(iteration, b)(self.convs[b](h)).relu()
            out = self._norm(iteration, b + 1)(self.convs[b + 1](out))
            h = (out + h).relu()
        return h

    def for_iteration(self, iteration: int) -> "ResidualModule":
        clone = copy.deepcopy(self)
        if len(self.norms):
            clone.norms = nn.ModuleList([copy.deepcopy(
                self.norms[min(iteration, len(self.norms) - 1)])])
        return clone


def _norm_or_id(width: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm2d(width) if batchnorm else nn.Identity()


def resnet_parts(channels: int, width: int, classes: int, *, batchnorm: bool = False,
                 norm_iterations: int = 1):
    """Conv(in→w, stride 2) → [module] → Conv(w→512, stride 2) → average pool →
    Linear(512, classes); convs without bias; effective depth 4n + 3 (paper 2.3, 3.1).

    With ``batchnorm``, a BatchNorm follows every conv; each module holds
    ``norm_iterations`` sets (n for the recurrent form, 1 for each feed-forward copy)."""
    prelude = nn.Sequential(conv3x3(channels, width, stride=2), _norm_or_id(width, batchnorm),
                            nn.ReLU())
    coda = nn.Sequential(conv3x3(width, 512, stride=2), _norm_or_id(512, batchnorm), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))
    return prelude, lambda: ResidualModule(
        width, norm_iterations=norm_iterations if batchnorm else 0), coda


def maze_parts(width: int, *, dilation: int = 1):
    """Fully convolutional, stride 1, padding 1, no bias: Conv(3→w) → [module] →
    Conv(w→32) → Conv(32→8) → Conv(8→2): two logits per pixel; depth 4n + 4 (paper 4.2).

    ``dilation`` dilates the module's convolutions only (paper Table 2 does not say
    which; the prelude and the three-layer head stay local)."""
    prelude = nn.Sequential(conv3x3(3, width), nn.ReLU())
    coda = nn.Sequential(conv3x3(width, 32), nn.ReLU(), conv3x3(32, 8), nn.ReLU(),
                         conv3x3(8, 2))
    return prelude, lambda: ResidualModule(width, dilation=dilation), coda
