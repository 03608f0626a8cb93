"""Which depths and widths each family has (SPEC 2), as facts: no torch, no models.

Effective depth = outside layers + layers_per_module · n, where n is the number of
modules (feed-forward) or iterations (recurrent).  :mod:`recur.config` checks configs
against these tables and :mod:`recur.models.factory` builds from them.
"""
from __future__ import annotations

from recur import checks
from recur.forms import FORMS

#: The paper's widths per family and dataset (paper A.1, Tables 4–5; SPEC 2).  The
#: embedded ``digits`` data is not in the paper: it takes the CIFAR-10 widths.  The
#: residual families also take ImageNet-sized inputs (global average pooling).
WIDTHS = {
    "mlp": {"cifar10": 200, "svhn": 500, "emnist": 500, "digits": 200},
    "convnet": {"cifar10": 64, "svhn": 64, "emnist": 64, "digits": 64},
    "resnet": {"cifar10": 512, "svhn": 512, "emnist": 512, "digits": 512, "imagenet": 512},
    "resnet_bn": {"cifar10": 256, "svhn": 256, "emnist": 256, "digits": 256, "imagenet": 256},
    "maze": {"mazes": 128},
    "resnet18": {"cifar10": 64, "svhn": 64, "emnist": 64, "digits": 64, "imagenet": 64},
    "resnet50": {"imagenet": 64},
    "transformer": {"phop": 64},  # beyond the paper: ours, small enough for 2 CPU cores
}
FAMILIES = tuple(WIDTHS)

# (outside layers, layers per module): MLP n + 2; ConvNet n + 3 (the authors' code:
# n = depth − 3, so the paper's x-axis 4..8 is n = 1..5); residual 4n + 3; maze 4n + 4.
_DEPTH = {"mlp": (2, 1), "convnet": (3, 1), "resnet": (3, 4), "resnet_bn": (3, 4),
          "maze": (4, 4), "transformer": (2, 2)}
# transformer 2n + 2: each module is two layers (attention, then MLP; each a residual
# branch), and outside them, as in the MLP's n + 2, one layer in (the token embedding, a
# linear map of the one-hot token) and one out (the read-out); position embeddings and
# LayerNorms are not counted as layers.
_FIXED = {"resnet18": 18, "resnet50": 50}


def valid_depths(family: str, up_to: int = 44) -> list[int]:
    """Effective depths a family can have (the first few, up to ``up_to``)."""
    if family in _FIXED:
        return [_FIXED[family]]
    outside, per = _DEPTH[family]
    return list(range(outside + per, up_to + 1, per))


def iterations_for(family: str, depth: int) -> int:
    """n, the number of modules (or recurrent iterations) of a family at ``depth``;
    raises ``ValueError`` listing the valid depths."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    if not checks.is_integer(depth) or not _valid(family, depth):
        listed = ", ".join(map(str, valid_depths(family, 20)))
        more = "" if family in _FIXED else ", …"
        raise ValueError(f"{family} cannot have effective depth {depth!r}; valid depths are "
                         f"{listed}{more}")
    if family in _FIXED:
        return 0
    outside, per = _DEPTH[family]
    return (depth - outside) // per


def _valid(family: str, depth: int) -> bool:
    if family in _FIXED:
        return depth == _FIXED[family]
    outside, per = _DEPTH[family]
    return depth >= outside + per and (depth - outside) % per == 0


def width_for(family: str, dataset: str) -> int:
    """The paper's width of ``family`` on ``dataset``; ``ValueError`` where it is not
    defined, naming the datasets it takes."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    if dataset not in WIDTHS[family]:
        raise ValueError(f"{family} is not defined for {dataset}; it takes "
                         f"{', '.join(WIDTHS[family])}")
    return WIDTHS[family][dataset]


def check_shared_norm(family: str, recurrent: bool, shared_norm) -> None:
    """``shared_norm`` (one BatchNorm set for every iteration, the alternative paper 3.1
    argues against) is a flag, and True only for the recurrent ``resnet_bn``."""
    if not isinstance(shared_norm, bool):
        raise checks.bad("shared_norm", shared_norm, "True (recurrent resnet_bn only) or False")
    if shared_norm and not (family == "resnet_bn" and recurrent is True):
        raise ValueError(f"shared_norm=True is for the recurrent resnet_bn (one BatchNorm set "
                         f"for every iteration), not a {FORMS.get(recurrent, recurrent)} "
                         f"{family}")
