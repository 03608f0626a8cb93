"""Scoring a net (SPEC 4): the untrained model a config describes, and its accuracy after
every iteration from one forward pass per batch.  :mod:`recur.train` uses both for a
run's final scores; notebooks use :func:`evaluate` on other mazes or splits."""
from __future__ import annotations

import torch

from recur import losses
from recur.config import TrainConfig
from recur.models import build_model, iterates
from recur.models.factory import OPTIONS


def build_net(config: TrainConfig):
    """The untrained model a config describes (the options its family takes, from the
    config's fields of the same names)."""
    options = {name: getattr(config, name) for name in OPTIONS.get(config.family, ())}
    return build_model(config.family, recurrent=config.recurrent, depth=config.depth,
                       dataset=config.dataset, width=config.width, **options)


@torch.no_grad()
def evaluate(net, source, experiment: str, *, iterations: int | None = None,
             batch_size: int = 500, bf16: bool = False) -> list[float]:
    """Accuracy (%) after 1, 2, …, ``iterations`` iterations (default: as trained) for a
    net with one recurrent module, all from one forward pass per batch; otherwise a
    one-element list."""
    net.eval()
    correct_fn = losses.OBJECTIVES[experiment][1]
    param = next(net.parameters())
    stepwise = iterates(net)
    totals, n = None, 0
    for x, y in source.batches(batch_size):
        x = x.to(param.dtype)
        with torch.autocast(param.device.type, dtype=torch.bfloat16, enabled=bf16):
            outs = net.trace(x, iterations=iterations)["outputs"] if stepwise else [net(x)]
        hits = torch.stack([correct_fn(o, y, x).sum() for o in outs])
        totals = hits if totals is None else totals + hits
        n += len(y)
    return [round(100.0 * float(c) / n, 3) for c in totals.cpu()]
