"""The paper's architecture families as (prelude, make_module, coda) (SPEC 2; paper 2, A.1).

All convolutions are 3×3; ReLU follows every layer except the last.  Each ``*_parts``
function returns the prelude, a function that makes one freshly initialised module, and
the coda; the factory calls ``make_module`` once (recurrent) or n times (feed-forward).
The transformer (family ``transformer``: a GPT-style causal pre-norm block) is ours, beyond the
paper (issue 32), built by the same one definition for both forms.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

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


# --------------------------------------------------------------------------- transformer
class TokenEmbedding(nn.Module):
    """Token + learned position embedding: (B, T) int64 tokens → (B, T, w)."""

    def __init__(self, vocab: int, width: int, length: int):
        super().__init__()
        self.token = nn.Embedding(vocab, width)
        self.position = nn.Embedding(length, width)

    def forward(self, x):
        t = x.shape[1]
        if t > self.position.num_embeddings:
            raise ValueError(f"sequences of {t} tokens are longer than the "
                             f"{self.position.num_embeddings} positions the net embeds")
        return self.token(x) + self.position(torch.arange(t, device=x.device))


class LastPosition(nn.Module):
    """(B, T, w) → (B, w): the last position, where the answer is read."""

    def forward(self, h):
        return h[:, -1]


class TransformerModule(Module):
    """A pre-norm transformer block: h + attention(LayerNorm(h)), then + MLP(LayerNorm(h));
    causal multi-head self-attention, MLP w → 4w → GELU → w: two layers (attention, MLP)."""

    layers = 2

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, h, iteration: int = 0):
        b, t, w = h.shape
        q, k, v = self.qkv(self.norm1(h)).split(w, dim=2)  # each (B, T, w)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2)
                   for z in (q, k, v))  # (B, nh, T, hs)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        h = h + self.proj(a.transpose(1, 2).reshape(b, t, w))
        return h + self.mlp(self.norm2(h))


def transformer_parts(vocab: int, width: int, heads: int, classes: int, length: int):
    """Token + position embedding → [module] → LayerNorm → last position → Linear(w,
    classes); depth 2n + 2 (:mod:`recur.depths`).  Parameters: (vocab + length)·w for the
    prelude, 12w² + 13w per module, 2w + (w + 1)·classes for the coda."""
    coda = nn.Sequential(nn.LayerNorm(width), LastPosition(), nn.Linear(width, classes))
    return (TokenEmbedding(vocab, width, length), lambda: TransformerModule(width, heads),
            coda)
