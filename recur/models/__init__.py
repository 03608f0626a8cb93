"""Models of every family in the paper, feed-forward and recurrent from one definition.

    build_model(family, recurrent=..., depth=..., dataset=...)   # SPEC 2
    unroll(recurrent_net)                                        # same function, feed-forward
    net.trace(x)                                                 # features/outputs per module

Which depths and widths each family has: :mod:`recur.depths` (torch-free).
"""
from recur.models.factory import build_model
from recur.models.net import (DepthNet, Module, classifier_input, count_parameters,
                              estimate_statistics, head_parameters, iterates, norm_statistics,
                              share_norms, unroll)
from recur.models.receptive import convs_to_span, receptive_field
from recur.models.resnets import ResNet18, ResNet50

__all__ = ["build_model", "DepthNet",
           "Module", "classifier_input", "count_parameters", "head_parameters", "iterates",
           "unroll", "share_norms", "estimate_statistics", "norm_statistics", "receptive_field",
           "convs_to_span", "ResNet18", "ResNet50"]
