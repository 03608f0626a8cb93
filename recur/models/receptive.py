"""Receptive fields of the fully convolutional maze solvers (paper 4.3)."""
from __future__ import annotations

from torch import nn

from recur.models.net import DepthNet


def receptive_field(net: DepthNet, iterations: int | None = None) -> int:
    """Width in pixels of the input window that one output pixel depends on, for a net
    of stride-1 convolutions: 1 + Σ (kernel − 1)·dilation over the convs in run order."""
    convs = [m for m in net.prelude.modules() if isinstance(m, nn.Conv2d)]
    for block, _ in net.schedule(iterations):
        convs += [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    convs += [m for m in net.coda.modules() if isinstance(m, nn.Conv2d)]
    if any(c.stride != (1, 1) for c in convs):
        raise ValueError("receptive_field handles stride-1 (fully convolutional) nets only")
    return 1 + sum((c.kernel_size[0] - 1) * c.dilation[0] for c in convs)


def convs_to_span(cells: int, scale: int = 2) -> int:
    """How many 3×3 convolutions a receptive field needs to span a maze (paper 4.3).

    The paper's convention: the field (2k + 1 pixels for k convs) spans the maze when it
    reaches across the distance between the maze's outermost free pixels,
    scale·(2·cells − 1) − 1 pixels: 8 convs for small mazes, 12 for large ones."""
    span = scale * (2 * cells - 1) - 1
    return -(-(span - 1) // 2)
