"""One network shape for every family (paper section 2, eq. 1; SPEC 1).

``prelude → module_1 → … → module_n → coda``.  A feed-forward net holds n distinct modules;
a recurrent net holds one and applies it n times.  That is the only difference, so the
two forms of a family are built from the same prelude, module and coda definitions, and
:func:`unroll` turns a recurrent net into the feed-forward net that computes the same
function.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from recur import checks


class Module(nn.Module):
    """Base of the repeated modules: ``forward(h, iteration)``.

    ``iteration`` only matters to modules with per-iteration state (BatchNorm, paper 3.1);
    :meth:`for_iteration` returns a stand-alone copy for one iteration, used by unroll.
    """

    layers: int  # layers per module, for the effective depth

    def forward(self, h: torch.Tensor, iteration: int = 0) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def for_iteration(self, iteration: int) -> Module:
        return copy.deepcopy(self)


class DepthNet(nn.Module):
    """prelude → n modules (distinct, or one shared) → coda.

    ``depth`` is the effective depth (layers of the unrolled net).  ``iterations`` is how
    often the recurrent module runs (``None`` for a feed-forward net, whose ``n_modules``
    modules each run once).  Recurrent nets accept ``forward(x, iterations=k)`` to think
    for k iterations instead (with more iterations than trained, per-iteration state of
    the last trained iteration is reused).
    """

    def __init__(self, prelude: nn.Module, modules: list[Module], coda: nn.Module, *,
                 recurrent: bool, iterations: int, depth: int, family: str = ""):
        super().__init__()
        if recurrent and len(modules) != 1:
            raise ValueError("a recurrent net holds exactly one module")
        if not recurrent and len(modules) != iterations:
            raise ValueError("a feed-forward net holds one module per iteration")
        self.prelude, self.coda = prelude, coda
        self.blocks = nn.ModuleList(modules)
        self.recurrent, self.depth, self.family = recurrent, depth, family
        self.n_modules = iterations
        self.iterations = iterations if recurrent else None

    def shared_modules(self) -> list[tuple[nn.Module, int]]:
        """(module, iterations) for every module whose weights are applied repeatedly."""
        return [(self.blocks[0], self.iterations)] if self.recurrent else []

    def schedule(self, iterations=None) -> list:
        """(module, iteration) pairs in the order they run."""
        if self.recurrent:
            n = self.iterations if iterations is None else iterations
            checks.integer("iterations", n, 1)
            return [(self.blocks[0], i) for i in range(n)]
        if iterations not in (None, self.n_modules):
            raise ValueError(f"a feed-forward net has {self.n_modules} fixed modules; "
                             f"only a recurrent net can run {iterations} iterations")
        return [(block, i) for i, block in enumerate(self.blocks)]

    def forward(self, x: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        h = self.prelude(x)
        for block, i in self.schedule(iterations):
            h = block(h, i)
        return self.coda(h)  # the head runs once, after the last iteration

    def trace(self, x: torch.Tensor, iterations: int | None = None, outputs: bool = True):
        """Features after every module and (``outputs=True``) the head's output after every
        module, in one forward pass: ``{"features": [h_1..h_n], "outputs": [y_1..y_n]}``.

        Forward hooks cannot do this for a recurrent net: a hook on the shared module
        would only keep its last call.
        """
        h = self.prelude(x)
        features, outs = [], []
        for block, i in self.schedule(iterations):
            h = block(h, i)
            features.append(h)
            if outputs:
                outs.append(self.coda(h))
        return {"features": features, "outputs": outs}


def unroll(net: DepthNet) -> DepthNet:
    """The feed-forward net of the same effective depth whose n modules are copies of a
    recurrent net's shared one (with each iteration's own state): the same function,
    with the feed-forward parameter count.  The recurrent net is left untouched."""
    if not isinstance(net, DepthNet):  # nets of several recurrent stages (ResNet-50)
        if getattr(net, "recurrent", False) and hasattr(net, "unrolled"):
            return net.unrolled()
        raise ValueError("unroll takes a recurrent net built by recur.models.build_model")
    if not net.recurrent:
        raise ValueError("unroll takes a recurrent net built by recur.models.build_model")
    shared = net.blocks[0]
    modules = [shared.for_iteration(i) for i in range(net.iterations)]
    ff = DepthNet(copy.deepcopy(net.prelude), modules, copy.deepcopy(net.coda),
                  recurrent=False, iterations=net.iterations, depth=net.depth,
                  family=net.family)
    ff.train(net.training)
    return ff


def iterates(net: nn.Module) -> bool:
    """Does the net have one recurrent module whose output can be read after every
    iteration (``trace``)?  Not feed-forward nets, nor ResNet-50's recurrent stages."""
    return checks.is_integer(net.iterations)


def classifier_input(net: DepthNet, features: torch.Tensor) -> torch.Tensor:
    """What a classification net's last layer sees, given the features after its last
    module: its head (``coda``) without the final linear layer."""
    return net.coda[:-1](features)


def head_parameters(net: DepthNet) -> int:
    """Trainable parameters of the head (``coda``): run once, after the last module."""
    return count_parameters(net.coda)


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters (shared ones counted once)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _iteration_norms(net: DepthNet):
    """The shared module's per-iteration BatchNorm sets (``norms[iteration][layer]``)."""
    norms = getattr(net.blocks[0], "norms", None) if isinstance(net, DepthNet) else None
    if not net.recurrent or norms is None or len(norms) == 0:
        raise ValueError("this takes a recurrent net with one BatchNorm set per iteration "
                         "(family 'resnet_bn')")
    return norms


def share_norms(net: DepthNet, iteration: int = 1) -> DepthNet:
    """A copy of a recurrent BatchNorm net in which every iteration uses the BatchNorm of
    ``iteration`` (counted from 1, as in :func:`norm_statistics`; paper 3.1: what one
    shared set of statistics costs)."""
    norms = _iteration_norms(net)
    if not (checks.is_integer(iteration) and 1 <= iteration <= len(norms)):
        raise checks.bad("iteration", iteration, f"an integer in 1..{len(norms)}")
    clone = copy.deepcopy(net)
    for i in range(len(norms)):
        clone.blocks[0].norms[i] = copy.deepcopy(norms[iteration - 1])
    return clone


def estimate_statistics(net: DepthNet, batches, *, per_iteration: bool = True) -> DepthNet:
    """A copy of a recurrent BatchNorm net whose BatchNorms' running statistics are all
    estimated afresh from what reaches them when ``batches`` (input tensors) pass through
    the net.  ``per_iteration``: first give every iteration a BatchNorm set of its own (a
    net trained with one shared set gets a copy of it for every iteration: its learned
    scale and shift stay shared in value, only the statistics become separate; paper 3.1,
    "separate batch normalization statistics for each recurrence"); otherwise the net's
    sets stay as they are (one shared set then averages over every iteration).

    Each statistic is the equal-weight average of its per-call values (BatchNorm with
    ``momentum=None``), computed with the batch's own statistics at every layer, as in
    training; the copy is returned in eval mode."""
    norms = _iteration_norms(net)
    clone = copy.deepcopy(net)
    if per_iteration and len(norms) < net.iterations:
        clone.blocks[0].norms = nn.ModuleList(copy.deepcopy(norms[min(i, len(norms) - 1)])
                                              for i in range(net.iterations))
    bns = [m for m in clone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # a cumulative average over the calls
    clone.train()
    seen = 0
    with torch.no_grad():
        for x in batches:
            clone(x)
            seen += 1
    if not seen:
        raise ValueError("estimate_statistics needs at least one batch of inputs")
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    return clone.eval()


def norm_statistics(net: DepthNet) -> list[dict]:
    """Per iteration and BatchNorm layer of the shared module: the mean |running mean|
    and the mean running variance over channels (rows for a table)."""
    return [{"iteration": i + 1, "layer": j + 1,
             "mean |running mean|": float(bn.running_mean.abs().mean()),
             "mean running var": float(bn.running_var.mean())}
            for i, layer_norms in enumerate(_iteration_norms(net))
            for j, bn in enumerate(layer_norms)]
