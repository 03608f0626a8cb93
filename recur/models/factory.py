"""``build_model``: (family, recurrent, effective depth, input shape) → a model (SPEC 2).

Which depths and widths a family has are facts of :mod:`recur.depths`; what a dataset
looks like is a fact of :mod:`recur.datasets`.  The models themselves take shapes only.
"""
from __future__ import annotations

from recur import checks
from recur.datasets import Shape, shape_of
from recur.depths import check_shared_norm, iterations_for, width_for
from recur.models import families
from recur.models.net import DepthNet
from recur.models.resnets import ResNet18, ResNet50

#: The options a family takes beyond width: dilation of the maze module's convolutions;
#: one BatchNorm set for every iteration of the recurrent resnet_bn; attention heads (transformer).
OPTIONS = {"maze": ("dilation",), "resnet_bn": ("shared_norm",), "transformer": ("heads",)}


def build_model(family: str, *, recurrent: bool, depth: int, dataset: str | None = None,
                shape: Shape | tuple | None = None, width: int | None = None, **options):
    """The model of ``family`` at effective ``depth`` (SPEC 2).

    Its data is given either as ``dataset`` (its :class:`recur.datasets.Shape`, and
    ``width`` defaults to the paper's for the family and dataset) or as ``shape``
    ``(channels, classes, image side)`` with an explicit ``width``.  Options: ``dilation``
    (maze only: dilation of the module's convs; default 1; the paper does not give the
    dilation of its Table 2 models, the notebooks use 2); ``heads`` (transformer only:
    attention heads, dividing the width; default 4); ``shared_norm`` (recurrent
    ``resnet_bn`` only: one BatchNorm set for every iteration, the alternative paper 3.1
    argues against; default False, one set per iteration).  Raises ``ValueError`` for an
    unknown family or dataset, an impossible depth or option.
    """
    n = iterations_for(family, depth)
    shape, width = _shape_and_width(family, dataset, shape, width)
    if not isinstance(recurrent, bool):
        raise checks.bad("recurrent", recurrent, "True or False")
    allowed = OPTIONS.get(family, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for {family}; it takes "
                         f"{', '.join(allowed) or 'none'}")
    if family == "resnet18":
        if recurrent:
            raise ValueError("resnet18 is the feed-forward reference of Table 1; its recurrent "
                             "counterpart is family 'resnet_bn'")
        return ResNet18(shape.channels, shape.classes, width)
    if family == "resnet50":
        return ResNet50(shape.classes, recurrent=recurrent, channels=shape.channels)
    prelude, make_module, coda = _parts(family, shape, width, n, recurrent, options)
    modules = [make_module()] if recurrent else [make_module() for _ in range(n)]
    return DepthNet(prelude, modules, coda, recurrent=recurrent, iterations=n, depth=depth,
                    family=family)


def _shape_and_width(family: str, dataset: str | None, shape, width) -> tuple[Shape, int]:
    """The input shape and width, from ``dataset`` or as given."""
    if (dataset is None) == (shape is None):
        raise ValueError("give the data as dataset='<name>' or as shape=(channels, classes, "
                         "image side), one of the two")
    if dataset is not None:
        shape = shape_of(dataset)
        paper_width = width_for(family, dataset)
        width = paper_width if width is None else width
    else:
        shape = Shape(*shape)
        for name, value in shape._asdict().items():
            checks.integer(name, value, 1)
        if width is None:
            raise ValueError("with shape=..., give width too (the paper's width depends on "
                             "the dataset)")
    checks.integer("width", width, 2)
    return shape, width


def _parts(family: str, shape: Shape, width: int, n: int, recurrent: bool, options: dict):
    """(prelude, make_module, coda) of a family built from one definition for both forms."""
    if family == "mlp":
        return families.mlp_parts(shape.channels * shape.size * shape.size, width,
                                  shape.classes)
    if family == "convnet":
        return families.convnet_parts(shape.channels, width, shape.classes)
    if family in ("resnet", "resnet_bn"):
        shared_norm = options.get("shared_norm", False)
        check_shared_norm(family, recurrent, shared_norm)
        return families.resnet_parts(shape.channels, width, shape.classes,
                                     batchnorm=family == "resnet_bn",
                                     norm_iterations=n if recurrent and not shared_norm else 1)
    if family == "transformer":
        return _transformer_parts(shape, width, options.get("heads", 4))
    dilation = options.get("dilation", 1)  # maze
    checks.integer("dilation", dilation, 1)
    return families.maze_parts(width, dilation=dilation)


def _transformer_parts(shape: Shape, width: int, heads):
    """The transformer family's parts: shape = (vocabulary, classes, sequence length)."""
    checks.integer("heads", heads, 1)
    if width % heads:
        raise ValueError(f"width {width} is not divisible by heads = {heads}")
    return families.transformer_parts(shape.channels, width, heads, shape.classes, shape.size)
