"""Scoring a net (SPEC 4): the untrained model a config describes, and its accuracy after
every iteration from one forward pass per batch.  :mod:`recur.train` uses both for a
run's final scores; notebooks use :func:`evaluate` on other mazes or splits."""
from __future__ import annotations

import hashlib

import torch

from recur import losses
from recur.config import TrainConfig
from recur.models import build_model, iterates
from recur.models.factory import OPTIONS


def build_net(config: TrainConfig):
    """The untrained model a config describes (the options its family takes, from the
    config's fields of the same names)."""
    options = {name: getattr(config, name) for name in OPTIONS.get(config.family, ())
               if getattr(config, name) is not None}  # None: the family's own default
    return build_model(config.family, recurrent=config.recurrent, depth=config.depth,
                       dataset=config.dataset, width=config.width, **options)


@torch.no_grad()
def evaluate(net, source, experiment: str, *, iterations: int | None = None,
             batch_size: int = 500, bf16: bool = False) -> list[float]:
    """Accuracy (%) after 1, 2, …, ``iterations`` iterations (default: as trained) for a
    net with one recurrent module, all from one forward pass per batch; otherwise a
    one-element list."""
    return score(net, source, experiment, iterations=iterations, batch_size=batch_size,
                 bf16=bf16, keep=None)["curve"]


@torch.no_grad()
def score(net, source, experiment: str, *, iterations: int | None = None,
          batch_size: int = 500, bf16: bool = False, keep: int | None = -1) -> dict:
    """:func:`evaluate`'s ``curve``, and for the iteration count at index ``keep`` of it
    (default the last): ``correct``, which examples it got right, in the source's order
    (:func:`recur.results.pack` it for a record), and ``test_set``, a fingerprint of the
    examples and labels: two nets with the same fingerprint were scored on the same
    examples in the same order, so their ``correct`` pair example by example."""
    net.eval()
    correct_fn = losses.OBJECTIVES[experiment][1]
    param = next(net.parameters())
    stepwise = iterates(net)
    totals, n, kept, digest = None, 0, [], hashlib.sha256()
    for x, y in source.batches(batch_size):
        if keep is not None:
            digest.update(x.cpu().contiguous().numpy().tobytes())
            digest.update(y.cpu().contiguous().numpy().tobytes())
        x = x.to(param.dtype) if x.is_floating_point() else x  # tokens stay integers
        with torch.autocast(param.device.type, dtype=torch.bfloat16, enabled=bf16):
            outs = net.trace(x, iterations=iterations)["outputs"] if stepwise else [net(x)]
        hits = torch.stack([correct_fn(o, y, x) for o in outs])  # (iterations, batch)
        if keep is not None:
            kept.append(hits[keep].cpu())
        totals = hits.sum(1) if totals is None else totals + hits.sum(1)
        n += len(y)
    curve = [round(100.0 * float(c) / n, 3) for c in totals.cpu()]
    if keep is None:
        return {"curve": curve}
    return {"curve": curve, "correct": torch.cat(kept).numpy().astype(bool),
            "test_set": digest.hexdigest()[:16]}

