"""``build_model``: (family, recurrent, effective depth, dataset) → a model (SPEC 2)."""
from __future__ import annotations

from recur import checks
from recur.datasets import INFO
from recur.models import families
from recur.models.net import DepthNet
from recur.models.resnets import ResNet18, ResNet50

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
}
FAMILIES = tuple(WIDTHS)

# Effective depth = outside layers + layers_per_module · n (SPEC 2): MLP n + 2; ConvNet
# n + 3 (the authors' code: n = depth − 3, so the paper's x-axis 4..8 is n = 1..5);
# residual 4n + 3; maze 4n + 4.
_DEPTH = {"mlp": (2, 1), "convnet": (3, 1), "resnet": (3, 4), "resnet_bn": (3, 4),
          "maze": (4, 4)}
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
    if not checks.is_integer(depth) or depth not in _valid(family, depth):
        listed = ", ".join(map(str, valid_depths(family, 20)))
        more = "" if family in _FIXED else ", …"
        raise ValueError(f"{family} cannot have effective depth {depth!r}; valid depths are "
                         f"{listed}{more}")
    if family in _FIXED:
        return 0
    outside, per = _DEPTH[family]
    return (depth - outside) // per


def _valid(family, depth):
    if family in _FIXED:
        return {_FIXED[family]}
    outside, per = _DEPTH[family]
    ok = depth >= outside + per and (depth - outside) % per == 0
    return {depth} if ok else set()


def build_model(family: str, *, recurrent: bool, depth: int, dataset: str,
                width: int | None = None, **options):
    """The model of ``family`` at effective ``depth`` for ``dataset`` (SPEC 2).

    ``width`` defaults to the paper's for the family and dataset.  Options: ``dilation``
    (maze only: dilation of the module's convs; default 1; the paper does not give the
    dilation of its Table 2 models, the notebooks use 2); ``shared_norm`` (recurrent
    ``resnet_bn`` only: one BatchNorm set for every iteration, the alternative paper 3.1
    argues against; default False, one set per iteration).  Raises
    ``ValueError`` for an unknown family or dataset, an impossible depth or option.
    """
    if dataset not in INFO:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(INFO)}")
    n = iterations_for(family, depth)
    if dataset not in WIDTHS[family]:
        raise ValueError(f"{family} is not defined for {dataset}; it takes "
                         f"{', '.join(WIDTHS[family])}")
    if not isinstance(recurrent, bool):
        raise checks.bad("recurrent", recurrent, "True or False")
    width = WIDTHS[family][dataset] if width is None else width
    checks.integer("width", width, 2)
    allowed = {"maze": {"dilation"}, "resnet_bn": {"shared_norm"}}.get(family, set())
    if set(options) - allowed:
        raise ValueError(f"unknown option(s) {', '.join(sorted(set(options) - allowed))} for "
                         f"{family}; it takes {', '.join(sorted(allowed)) or 'none'}")
    info = INFO[dataset]

    if family == "resnet18":
        if recurrent:
            raise ValueError("resnet18 is the feed-forward reference of Table 1; its recurrent "
                             "counterpart is family 'resnet_bn'")
        return ResNet18(info.channels, info.classes, width)
    if family == "resnet50":
        return ResNet50(info.classes, recurrent=recurrent, channels=info.channels)

    if family == "mlp":
        parts = families.mlp_parts(info.channels * info.size * info.size, width, info.classes)
    elif family == "convnet":
        parts = families.convnet_parts(info.channels, width, info.classes)
    elif family in ("resnet", "resnet_bn"):
        shared_norm = options.get("shared_norm", False)
        if not isinstance(shared_norm, bool) or (shared_norm and not recurrent):
            raise checks.bad("shared_norm", shared_norm, "True (recurrent nets only) or False")
        parts = families.resnet_parts(info.channels, width, info.classes,
                                      batchnorm=family == "resnet_bn",
                                      norm_iterations=n if recurrent and not shared_norm else 1)
    else:  # maze
        dilation = options.get("dilation", 1)
        checks.integer("dilation", dilation, 1)
        parts = families.maze_parts(width, dilation=dilation)
    prelude, make_module, coda = parts
    modules = [make_module()] if recurrent else [make_module() for _ in range(n)]
    return DepthNet(prelude, modules, coda, recurrent=recurrent, iterations=n, depth=depth,
                    family=family)
