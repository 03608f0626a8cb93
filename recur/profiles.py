"""Training settings per profile: data, not code paths (SPEC 4).

``paper``: the authors' settings, from their launch scripts (SPEC 4 table; paper A.2).
``quick``: sized for a 2-core CPU in minutes, keeping the paper's trends visible (SPEC 7:
narrow maze solvers on one-pixel-per-square small mazes); its seeds, depths and studies
are the notebooks' parameter defaults, sized for a class and for CI (about 20 minutes in
all on a 2-core bf16 CPU).
``extended``: the quick profile's nets (its recipe, so its runs are the same runs), with
more seeds and depths and every study: the notebooks' parameters of :data:`NOTEBOOK_PARAMETERS`
(about an hour on a 2-core bf16 CPU).

Each entry is a dict of :class:`recur.config.TrainConfig` fields, plus an optional
``lr_rules`` list of ``(recurrent, depths, lr)``: the first rule whose ``recurrent``
(None = either) and ``depths`` (None = any) match sets the learning rate.
"""
from __future__ import annotations

from recur.config import TrainConfig

PROFILES = ("quick", "extended", "evidence", "paper")

#: The training recipe each profile uses (its runs' ``config.profile``): the extended
#: profile trains the quick profile's nets, so a run they share is one run, one record.
RECIPES = {"quick": "quick", "extended": "quick", "evidence": "quick", "paper": "paper"}

#: The most seeds the evidence profile gives one claim: the width of one batched net in
#: the many-seeds benchmark (64 seeds at once).  Its plan (recur.planning.evidence on
#: results/extended, at the ±1 pt margins) asks for more than this, or cannot bound the
#: spread, for every claim but notebook 02's MLP depths 4-8, ConvNet depths 5-7 and ResNet
#: depth 19: those 64 seeds are expected to decide; the others may stay inconclusive at
#: this scale.  Notebook 05's claims are not planned; it gets 16 seeds.
EVIDENCE_SEEDS = 64

#: Notebook parameters a profile sets over the notebooks' own defaults (which are the
#: quick profile's), by notebook number; the runner passes them to papermill.
NOTEBOOK_PARAMETERS = {
    "extended": {
        "02": {"depths": {"mlp": [3, 4, 5, 6, 7, 8, 9, 10], "convnet": [4, 5, 6, 7, 8],
                          "resnet": [7, 11, 15, 19]},
               "seeds": {"mlp": list(range(8)), "convnet": [0, 1, 2, 3],
                         "resnet": [0, 1, 2, 3]}},
        "03": {"depth": [8, 12, 16, 20, 24], "seeds": [0, 1], "studies": "yes",
               "sizes": ["small", "medium", "large"], "size_depths": [20],
               "dilated_depths": [16, 20]},
        "04": {"seeds": [0, 1, 2]},
        "05": {"other_seeds": 3},
        "06": {"depth": [4, 6, 8, 10], "seeds": [0, 1, 2, 3]},
    },
    # notebook 06's GPU setting (ours; the paper has no transformer): two hops, deeper nets
    "paper": {"06": {"hops": 2, "depth": [4, 6, 8, 10, 12], "seeds": [0, 1, 2]}},
}
_MANY = list(range(EVIDENCE_SEEDS))
NOTEBOOK_PARAMETERS["evidence"] = {
    **NOTEBOOK_PARAMETERS["extended"],
    "02": {**NOTEBOOK_PARAMETERS["extended"]["02"],
           "seeds": {"mlp": _MANY, "convnet": _MANY, "resnet": _MANY}},
    "03": {**NOTEBOOK_PARAMETERS["extended"]["03"], "seeds": _MANY},
    "04": {"seeds": _MANY},
    "05": {"other_seeds": 15},
    "06": {**NOTEBOOK_PARAMETERS["extended"]["06"], "seeds": _MANY},
}

_COMMON = dict(momentum=0.9, weight_decay=2e-4, warmup_epochs=5.0, gamma=0.1, milestones=())

# The authors' launch scripts (SPEC 4).  EMNIST and the embedded digits have no launch
# files of their own: they take the CIFAR-10 settings of the family.
_PAPER_CLASSIFICATION = {
    ("mlp", "cifar10"): dict(lr=0.01, milestones=(100, 150), epochs=200),
    ("mlp", "svhn"): dict(lr=0.01, milestones=(50, 125), epochs=150),
    ("convnet", "cifar10"): dict(lr=0.05, milestones=(50, 100, 150), epochs=200,
                                 lr_rules=[(True, None, 0.01)]),
    ("convnet", "svhn"): dict(lr=0.05, milestones=(50, 100, 150), epochs=200,
                              lr_rules=[(True, (6, 7, 8), 0.03), (True, None, 0.05)]),
    ("resnet", "cifar10"): dict(lr=0.1, milestones=(100, 150, 175), epochs=200,
                                lr_rules=[(True, (19,), 0.01)]),
    ("resnet", "svhn"): dict(lr=0.1, milestones=(100, 150, 175), epochs=200,
                             lr_rules=[(True, (19,), 0.01)]),
    ("resnet_bn", "cifar10"): dict(lr=0.1, milestones=(100, 150, 175), epochs=200),
    ("resnet_bn", "svhn"): dict(lr=0.1, milestones=(60, 120), epochs=160),
    ("resnet18", "cifar10"): dict(lr=0.1, milestones=(100, 150, 175), epochs=200),
    ("resnet18", "svhn"): dict(lr=0.1, milestones=(60, 120), epochs=160),
    ("resnet50", "imagenet"): dict(lr=0.1, milestones=(30, 60, 80), epochs=90, batch_size=256),
}
_PAPER_CLASSIFICATION |= {(family, dataset): _PAPER_CLASSIFICATION[(family, "cifar10")]
                          for family in ("mlp", "convnet", "resnet", "resnet_bn", "resnet18")
                          for dataset in ("emnist", "digits")}

_PAPER_MAZES = {
    # Adam, the settings the authors' maze launch files use most (SPEC 4).
    "adam": dict(optimizer="adam", lr=5e-4, milestones=(40, 100), gamma=0.25, epochs=120),
    # SGD, small mazes: lr by depth.
    "sgd": dict(optimizer="sgd", lr=0.001, milestones=(175,), gamma=0.1, epochs=200,
                lr_rules=[(None, (8,), 0.1), (None, (12,), 0.05)]),
}

PAPER = {
    "mazes": {name: dict(_COMMON, batch_size=50, width=128, maze_scale=2, maze_crop=32,
                         n_train=50_000, n_test=10_000, recurrent_lr_scale=True,
                         extra_iterations=6, **entry)
              for name, entry in _PAPER_MAZES.items()},
    "classification": {key: {**_COMMON, "optimizer": "sgd", "batch_size": 128, **entry}
                       for key, entry in _PAPER_CLASSIFICATION.items()},
}

QUICK = {
    # Narrow solvers on small mazes drawn one pixel per grid square (13×13 images), 5,000
    # training mazes, Adam: a depth-20 model trains in about 35 s on 2 cores.  The shared
    # module learns at the full lr: over 20 epochs, lr / iterations starved it (depth 20,
    # seed 0: 19.2% test accuracy with the scaling, 89.1% without; feed-forward 88.4%).
    "mazes": {"adam": dict(_COMMON, optimizer="adam", lr=1e-3, warmup_epochs=1.0,
                           milestones=(16,), gamma=0.25, epochs=20, batch_size=50, width=32,
                           maze_scale=1, maze_crop=None, n_train=5_000, n_test=10_000,
                           recurrent_lr_scale=False, extra_iterations=6)},
    # The embedded digits (1,437 training images), narrow nets, 16 epochs of Adam: SGD at
    # the paper's learning rates needs its 200 epochs; in 16 it left the deeper nets
    # without BatchNorm at chance.  ResNet-18 at a quarter width (16) fits a CPU.
    "classification": {
        (family, "digits"): dict(_COMMON, optimizer="adam", lr=1e-3, batch_size=64,
                                 warmup_epochs=1.0, milestones=(12,), epochs=16, **entry)
        for family, entry in {
            "mlp": dict(width=64),
            "convnet": dict(width=16),
            "resnet": dict(width=16),
            "resnet_bn": dict(width=16),
            "resnet18": dict(width=16),
        }.items()},
}
# p-hop induction (notebook 06, beyond the paper), one hop by default: a narrow transformer
# in float32 (bf16 autocast only slowed matrices this small), on 4,000 sequences the run
# draws itself, 30 epochs of Adam: a 3-block net trains in about 25 s on 2 cores.  Chosen on
# a pilot, on cost and on the feed-forward nets' rise with depth (seed 0: 77.0, 93.5, 89.8%
# at depths 4, 6, 8: the same runs as the notebooks' seed 0); two hops stayed at 50-51%,
# about what a guess from the last symbol alone scores on two-hop sequences, so the
# default is one.
QUICK["classification"][("transformer", "phop")] = dict(
    _COMMON, optimizer="adam", lr=1e-3, batch_size=64, warmup_epochs=1.0, milestones=(22,),
    epochs=30, width=32, n_train=4_000, n_test=2_000, precision="fp32", extra_iterations=6)
# The GPU setting of notebook 06 (ours: the paper has no transformer): the family's width,
# 50 times the data, longer training.  Not run yet.
PAPER["classification"][("transformer", "phop")] = dict(
    _COMMON, optimizer="adam", lr=5e-4, batch_size=256, warmup_epochs=2.0, milestones=(80,),
    epochs=100, width=64, n_train=200_000, n_test=10_000, extra_iterations=6)


def check_profile(profile: str) -> str:
    """``profile``, or a ``ValueError`` naming the profiles there are."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    return profile


def recipe(profile: str) -> str:
    """The profile whose training settings ``profile`` uses (:data:`RECIPES`)."""
    return RECIPES[check_profile(profile)]


def notebook_parameters(profile: str, notebook: str) -> dict:
    """What ``profile`` sets over notebook ``notebook``'s (``"03"``) parameter defaults."""
    return dict(NOTEBOOK_PARAMETERS.get(check_profile(profile), {}).get(notebook, {}))


#: Train/test mazes per size that notebook 01 builds and checks, by recipe: the paper's
#: 50,000 + 10,000, and a fifth of that for the quick recipe (2-core CPU).
MAZE_SPLITS = {"paper": (50_000, 10_000), "quick": (10_000, 2_000)}


def maze_splits(profile: str) -> tuple[int, int]:
    """``(train, test)`` mazes per size of ``profile``'s recipe (:data:`MAZE_SPLITS`)."""
    return MAZE_SPLITS[recipe(profile)]


def settings(profile: str, experiment: str, family: str, dataset: str,
             optimizer: str | None = None) -> dict:
    """The profile's table entry (with ``lr_rules`` still in it)."""
    profile = recipe(profile)
    table = (PAPER if profile == "paper" else QUICK).get(experiment)
    if table is None:
        raise ValueError(f"unknown experiment {experiment!r}; choose from mazes, classification")
    if experiment == "mazes":
        key = optimizer or "adam"
        if key not in table:
            raise ValueError(f"the {profile} profile has no maze settings for optimizer "
                             f"{key!r}; it has {', '.join(table)}")
        return dict(table[key])
    if (family, dataset) not in table:
        have = ", ".join(f"{f} on {d}" for f, d in table)
        raise ValueError(f"the {profile} profile has no settings for {family} on {dataset}; "
                         f"it has {have}")
    return dict(table[(family, dataset)])


def make_config(profile: str, experiment: str, *, family: str, recurrent: bool, depth: int,
                dataset: str | None = None, seed: int = 0, optimizer: str | None = None,
                **overrides) -> TrainConfig:
    """A :class:`TrainConfig` from a profile's table, with ``overrides`` on top."""
    dataset = dataset or ("mazes" if experiment == "mazes" else "digits")
    entry = settings(profile, experiment, family, dataset, optimizer)
    rules = entry.pop("lr_rules", [])
    for rule_recurrent, depths, lr in rules:
        if (rule_recurrent is None or rule_recurrent == recurrent) and \
                (depths is None or depth in depths):
            entry["lr"] = lr
            break
    values = dict(entry, experiment=experiment, family=family, recurrent=recurrent,
                  depth=depth, dataset=dataset, seed=seed, profile=recipe(profile))
    if optimizer is not None:  # picks the maze recipe above, and is the optimizer anyway
        values["optimizer"] = optimizer
    values.update(overrides)
    return TrainConfig.from_dict(values)
