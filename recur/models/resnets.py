"""The reference ResNets: ResNet-18 in its CIFAR form (paper Table 1) and ResNet-50 with
an optional recurrent form (paper 3; SPEC 2.4, 2.6)."""
from __future__ import annotations

import copy

import torchvision
from torch import nn

from recur.models.net import DepthNet, Module, unroll


class BasicBlock(nn.Module):
    """conv → BN → ReLU → conv → BN, + shortcut (1×1 conv + BN when the shape changes) → ReLU."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        return (out + self.shortcut(x)).relu()


class ResNet18(nn.Module):
    """The standard CIFAR ResNet-18: 3×3 stem without max-pool, stages of 64/128/256/512
    channels (``width`` = 64 scales them all) with 2 basic blocks each, global average
    pool, linear head (11.17M parameters with 10 classes)."""

    depth = 18
    recurrent = False
    iterations = None  # feed-forward
    family = "resnet18"

    def shared_modules(self) -> list:
        return []

    def __init__(self, channels: int = 3, classes: int = 10, width: int = 64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        blocks, cin = [], width
        for cout, stride in ((width, 1), (2 * width, 2), (4 * width, 2), (8 * width, 2)):
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(8 * width, classes))

    def forward(self, x, iterations=None):
        if iterations is not None:
            raise ValueError("ResNet-18 is feed-forward: it has no iterations to change")
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def trace(self, x, iterations=None, outputs: bool = False):
        """Features after every basic block (no per-block outputs: shapes change)."""
        h, features = self.stem(x), []
        for block in self.blocks:
            h = block(h)
            features.append(h)
        return {"features": features, "outputs": []}


class Bottleneck(Module):
    """A torchvision Bottleneck whose input and output shapes agree, with one set of
    BatchNorms per iteration, so its convolutions can be shared across a stage."""

    layers = 3

    def __init__(self, block: torchvision.models.resnet.Bottleneck, norm_iterations: int = 1):
        super().__init__()
        if block.downsample is not None:
            raise ValueError("only shape-preserving bottlenecks can be repeated")
        self.convs = nn.ModuleList([block.conv1, block.conv2, block.conv3])
        norms = nn.ModuleList([block.bn1, block.bn2, block.bn3])
        self.norms = nn.ModuleList([norms] + [copy.deepcopy(norms)
                                              for _ in range(norm_iterations - 1)])

    def forward(self, h, iteration: int = 0):
        norms = self.norms[min(iteration, len(self.norms) - 1)]
        out = norms[0](self.convs[0](h)).relu()
        out = norms[1](self.convs[1](out)).relu()
        out = norms[2](self.convs[2](out))
        return (out + h).relu()

    def for_iteration(self, iteration: int) -> "Bottleneck":
        clone = copy.deepcopy(self)
        norm = self.norms[min(iteration, len(self.norms) - 1)]
        clone.norms = nn.ModuleList([copy.deepcopy(norm)])
        return clone


class ResNet50(nn.Module):
    """torchvision's ResNet-50, as stages of (first block → repeated bottlenecks).

    ``recurrent=True`` shares the convolutions of every block after the first within a
    stage (the shapes agree there), with a BatchNorm set per iteration: 2, 3, 5 and 2
    iterations in the four stages (paper 3, 75.13% top-1 vs 76.48%).  Built from a
    torchvision model (``base``), the feed-forward form computes exactly what it does.
    """

    depth = 50
    family = "resnet50"

    def __init__(self, classes: int = 1000, *, recurrent: bool = False, channels: int = 3,
                 base: torchvision.models.ResNet | None = None):
        super().__init__()
        tv = base if base is not None else torchvision.models.resnet50(num_classes=classes)
        if channels != 3:
            tv.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        self.recurrent = recurrent
        self.stem = nn.Sequential(tv.conv1, tv.bn1, tv.relu, tv.maxpool)
        stages = []
        for layer in (tv.layer1, tv.layer2, tv.layer3, tv.layer4):
            first, rest = layer[0], list(layer)[1:]
            if recurrent:
                modules = [Bottleneck(rest[0], norm_iterations=len(rest))]
            else:
                modules = [Bottleneck(block) for block in rest]
            stages.append(DepthNet(first, modules, nn.Identity(), recurrent=recurrent,
                                   iterations=len(rest), depth=3 * len(layer)))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Sequential(tv.avgpool, nn.Flatten(), tv.fc)
        # per stage, for the recurrent form; None for the feed-forward one
        self.iterations = tuple(stage.iterations for stage in stages) if recurrent else None

    def shared_modules(self) -> list:
        """(module, iterations) for every stage's shared bottleneck."""
        return [pair for stage in self.stages for pair in stage.shared_modules()]

    def forward(self, x, iterations=None):
        h = self.stem(x)
        for k, stage in enumerate(self.stages):
            h = stage(h, None if iterations is None else iterations[k])
        return self.head(h)

    def trace(self, x, iterations=None, outputs: bool = False):
        """Features after every block of every stage."""
        h, features = self.stem(x), []
        for k, stage in enumerate(self.stages):
            h = stage.prelude(h)  # the stage's first block
            features.append(h)
            for block, i in stage.schedule(None if iterations is None else iterations[k]):
                h = block(h, i)
                features.append(h)
        return {"features": features, "outputs": []}

    def unrolled(self) -> "ResNet50":
        """The feed-forward ResNet-50 computing the same function (see ``unroll``)."""
        if not self.recurrent:
            raise ValueError("this ResNet-50 is already feed-forward")
        ff = copy.deepcopy(self)
        ff.recurrent = False
        ff.iterations = None
        ff.stages = nn.ModuleList(unroll(stage) for stage in self.stages)
        return ff
