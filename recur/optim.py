"""The authors' optimisation recipe (SPEC 4; paper A.2): SGD with momentum or Adam, an
exponential warm-up, MultiStepLR, and for maze solvers the shared module at
lr / iterations."""
from __future__ import annotations

import math

import torch

from recur.config import TrainConfig


def lr_factor(config: TrainConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """MultiStepLR (×gamma at each milestone epoch reached) times the exponential warm-up
    1 − exp(−t/τ), t in steps, τ = warmup_epochs epochs (the authors' warm-up)."""
    decay = config.gamma ** sum(epoch >= m for m in config.milestones)
    tau = config.warmup_epochs * steps_per_epoch
    t = epoch * steps_per_epoch + step + 1
    return decay * (1.0 - math.exp(-t / tau) if tau > 0 else 1.0)


def make_optimizer(config: TrainConfig, net) -> torch.optim.Optimizer:
    """SGD or Adam; with ``recurrent_lr_scale``, each shared module at lr / iterations."""
    scaled = net.shared_modules() if config.recurrent_lr_scale else []
    shared = {id(p) for module, _ in scaled for p in module.parameters()}
    groups = [{"params": [p for p in net.parameters() if id(p) not in shared], "lr": config.lr}]
    groups += [{"params": list(module.parameters()), "lr": config.lr / n} for module, n in scaled]
    for g in groups:
        g["initial_lr"] = g["lr"]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
