"""Datasets: shapes and statistics (SPEC 4)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    channels: int
    classes: int
    size: int  # image side as the models see it
    mean: tuple
    std: tuple


#: Shapes and per-channel normalisation (the authors' values, SPEC 4).
INFO = {
    "cifar10": DatasetInfo(3, 10, 32, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "svhn": DatasetInfo(3, 10, 32, (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    "emnist": DatasetInfo(1, 47, 28, (0.1307,), (0.3081,)),
    "imagenet": DatasetInfo(3, 1000, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "digits": DatasetInfo(1, 10, 32, (0.0,), (1.0,)),  # statistics computed in load_digits
    "mazes": DatasetInfo(3, 2, 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
