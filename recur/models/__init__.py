"""Models of every family in the paper, feed-forward and recurrent from one definition.

    build_model(family, recurrent=..., depth=..., dataset=...)   # SPEC 2
    unroll(recurrent_net)                                        # same function, feed-forward
    net.trace(x)                                                 # features/outputs per module
"""
from recur.models.factory import FAMILIES, WIDTHS, build_model, iterations_for, valid_depths
from recur.models.net import (DepthNet, Module, classifier_input, count_parameters,
                              estimate_statistics, head_parameters, iterates, norm_statistics,
                              share_norms, unroll)
from recur.models.receptive import convs_to_span, receptive_field
from recur.models.resnets import ResNet18, ResNet50

__all__ = ["FAMILIES", "WIDTHS", "build_model", "iterations_for", "valid_depths", "DepthNet",
           "Module", "classifier_input", "count_parameters", "head_parameters", "iterates",
           "unroll", "share_norms", "estimate_statistics", "norm_statistics", "receptive_field",
           "convs_to_span", "ResNet18", "ResNet50"]
