"""Run configurations: one frozen, validated dataclass for every experiment.

A config is complete on its own: the trainer needs nothing else, checkpoints and run
records store it, and its hash names the run.  Unknown keys and bad values are errors.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from recur import checks
from recur.datasets import INFO
from recur.depths import check_shared_norm, iterations_for, width_for
from recur.forms import TAGS

EXPERIMENTS = ("mazes", "classification")
OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("auto", "bf16", "fp32", "fp64")
#: The device names a config, a notebook parameter or the command line accepts.
DEVICES = ("auto", "cpu", "cuda", "mps")
#: Fields added after runs were first named, with the value every earlier run had: a field
#: at that value is left out of :meth:`TrainConfig.key`, so earlier records keep their names.
ADDED_FIELDS = {"shared_norm": False, "split_seed": None, "heads": None, "hops": None}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs (SPEC 4)."""

    experiment: str  # "mazes" or "classification"
    family: str
    recurrent: bool
    depth: int  # effective depth
    dataset: str  # "mazes" or an image dataset
    # optimisation: no defaults, each profile's recipe is a row of recur.profiles (SPEC 4)
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    warmup_epochs: float  # time constant of the exponential warm-up, in epochs
    milestones: tuple  # epochs after which the lr is multiplied by gamma (none: no decay)
    gamma: float
    epochs: int
    batch_size: int
    width: int | None = None  # None: the paper's width for family and dataset
    dilation: int = 1  # maze solvers only
    shared_norm: bool = False  # recurrent resnet_bn only: one BatchNorm set for every iteration
    heads: int | None = None  # transformer only: attention heads (None: the family's 4)
    # data
    maze_size: str | int = "small"  # mazes: size name or cells
    maze_scale: int = 2  # pixels per grid square
    maze_crop: int | None = 32  # pad-and-crop side (None: images as rendered)
    n_train: int | None = None  # mazes: 50,000 in the paper; image data: all
    n_test: int | None = None
    split_seed: int | None = None  # digits only: draw its train/test split with this seed
    hops: int | None = None  # phop only (required there): pointers followed to the answer
    recurrent_lr_scale: bool = False  # mazes: the shared module learns at lr / iterations
    # evaluation
    extra_iterations: int = 0  # recurrent nets are also scored with up to this many more
    # bookkeeping
    seed: int = 0
    profile: str = "custom"
    device: str = "auto"  # "auto": cuda, then mps, then cpu
    precision: str = "auto"  # "auto": bf16 autocast on cuda and on CPUs with bf16 support;
    #                          "fp64": double precision everywhere (exactness tests)
    channels_last: bool = True
    compile: bool = False

    def __post_init__(self):
        self._check_names()
        self._check_numbers()
        self._check_combinations()

    def _bad(self, name: str, allowed: str) -> ValueError:
        return checks.bad(name, getattr(self, name), allowed)

    def _check_names(self) -> None:
        """Experiment, dataset, family, depth, optimizer, device and precision are known."""
        if self.experiment not in EXPERIMENTS:
            raise self._bad("experiment", " or ".join(EXPERIMENTS))
        if self.dataset not in INFO:
            raise self._bad("dataset", ", ".join(INFO))
        if (self.experiment == "mazes") != (self.dataset == "mazes"):
            raise ValueError("experiment 'mazes' goes with dataset 'mazes', and only it")
        width_for(self.family, self.dataset)  # raises naming the datasets the family takes
        iterations_for(self.family, self.depth)  # raises with the valid depths
        object.__setattr__(self, "depth", int(self.depth))
        if self.optimizer not in OPTIMIZERS:
            raise self._bad("optimizer", " or ".join(OPTIMIZERS))
        if self.device not in DEVICES and not str(self.device).startswith("cuda:"):
            raise self._bad("device", ", ".join(DEVICES) + " or cuda:N")
        if self.precision not in PRECISIONS:
            raise self._bad("precision", ", ".join(PRECISIONS))

    def _check_numbers(self) -> None:
        """Counts are integers in range (a numpy integer becomes an int: key() writes JSON),
        flags are booleans, the recipe's numbers are in range."""
        for name, least, optional in (("epochs", 1, False), ("batch_size", 1, False),
                                      ("dilation", 1, False), ("maze_scale", 1, False),
                                      ("seed", 0, False), ("extra_iterations", 0, False),
                                      ("width", 2, True), ("maze_crop", 1, True),
                                      ("n_train", 1, True), ("n_test", 1, True),
                                      ("split_seed", 0, True), ("heads", 1, True),
                                      ("hops", 1, True)):
            value = getattr(self, name)
            checks.integer(name, value, least, optional=optional)
            if value is not None:
                object.__setattr__(self, name, int(value))
        if isinstance(self.maze_size, bool):
            raise self._bad("maze_size", "small, medium, large or a number of cells")
        for name in ("recurrent", "shared_norm", "recurrent_lr_scale", "channels_last",
                     "compile"):
            if not isinstance(getattr(self, name), bool):
                raise self._bad(name, "True or False")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.warmup_epochs >= 0 and
                0 < self.gamma <= 1):
            raise ValueError("need lr > 0, weight_decay >= 0, warmup_epochs >= 0, "
                             "0 < gamma <= 1")
        if list(self.milestones) != sorted(self.milestones):
            raise self._bad("milestones", "increasing epoch numbers")
        object.__setattr__(self, "milestones", tuple(self.milestones))

    def _check_combinations(self) -> None:
        """Options that only some datasets or families take."""
        if (self.hops is not None) != (self.dataset == "phop"):
            raise ValueError(f"hops is the p-hop task's (dataset 'phop', where it is "
                             f"required); got hops={self.hops!r} on {self.dataset}")
        if self.heads is not None and self.family != "transformer":
            raise ValueError(f"heads is the transformer's; {self.family} has no attention")
        if self.split_seed is not None and self.dataset != "digits":
            raise ValueError(f"split_seed is for the digits, which have no official split; "
                             f"{self.dataset}'s is fixed (use split_seed=None)")
        check_shared_norm(self.family, self.recurrent, self.shared_norm)

    @property
    def iterations(self) -> int:
        return iterations_for(self.family, self.depth)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"milestones": list(self.milestones)}

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        fields = dataclasses.fields(cls)
        known = {f.name for f in fields}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config key(s) {', '.join(unknown)}; valid keys: "
                             f"{', '.join(sorted(known))}")
        missing = [f.name for f in fields if f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING and f.name not in values]
        if missing:
            raise ValueError(f"missing config key(s) {', '.join(missing)}: a profile's recipe "
                             f"sets them (recur.profiles.make_config)")
        return cls(**values)

    def replace(self, **changes) -> TrainConfig:
        return TrainConfig.from_dict(self.to_dict() | changes)

    def key(self) -> str:
        """A short hash of everything that changes the result (not device or progress)."""
        d = self.to_dict()
        for volatile in ("device", "compile"):
            d.pop(volatile)
        for added, default in ADDED_FIELDS.items():  # keep the names of runs made before them
            if d[added] == default:
                d.pop(added)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def name(self) -> str:
        return (f"{self.experiment}-{self.dataset}-{self.family}-{TAGS[self.recurrent]}"
                f"-d{self.depth}-s{self.seed}-{self.key()}")
