import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from recur import params
from recur.config import TrainConfig
from recur.params import Param, validate

SPEC = {"profile": Param(str, choices=("quick", "paper")),
        "n_examples": Param(int, minimum=1, maximum=64),
        "depth": Param((int, list),
                       test=lambda d: all(x % 4 == 0 for x in ([d] if isinstance(d, int) else d)),
                       allowed="8, 12, 16, … or a list of them")}


def test_valid_parameters_pass():
    ns = {"profile": "quick", "n_examples": 8, "depth": [8, 12], "np": pytest, "_x": 1}
    assert validate(ns, SPEC) == {"profile": "quick", "n_examples": 8, "depth": [8, 12]}


@pytest.mark.parametrize("name,value,message", [
    ("profile", "fast", "profile = 'fast' is not allowed: use one of 'quick', 'paper'"),
    ("n_examples", 0, "n_examples = 0 is not allowed: use int >= 1 and <= 64"),
    ("n_examples", "8", "n_examples = '8' is not allowed"),
    ("n_examples", True, "n_examples = True is not allowed"),
    ("depth", 21, "depth = 21 is not allowed: use 8, 12, 16, … or a list of them"),
])
def test_bad_values_name_what_is_allowed(name, value, message):
    ns = {"profile": "quick", "n_examples": 8, "depth": 8, name: value}
    with pytest.raises(ValueError, match="bad notebook parameters") as err:
        validate(ns, SPEC)
    assert message in str(err.value)


def test_unknown_and_missing_names_are_errors():
    ns = {"profile": "quick", "depth": 8, "n_exampels": 3}
    with pytest.raises(ValueError) as err:
        validate(ns, SPEC)
    assert "parameter 'n_examples' is missing" in str(err.value)
    assert ("unknown parameter(s) n_exampels; this notebook takes profile, n_examples, depth"
            in str(err.value))


def test_library_constants_imported_by_name_are_not_parameters():
    from recur.forms import FORMS

    ns = {"profile": "quick", "depth": 8, "n_examples": 3}
    validate(ns | {"FORMS": FORMS}, SPEC)  # from recur.forms import FORMS
    with pytest.raises(ValueError, match="unknown parameter.* FORMS"):
        validate(ns | {"FORMS": dict(FORMS)}, SPEC)  # same name, not the library's object


# --------------------------------------------------------------------------- ready-made specs
def _problem(spec: Param, value) -> str:
    """The error ``validate`` raises for ``value`` under ``spec`` ('' when it passes)."""
    try:
        validate({"x": value}, {"x": spec})
    except ValueError as err:
        return str(err)
    return ""


@pytest.mark.parametrize("spec,good", [
    (params.SEEDS, [0, 1, 7]),
    (params.PROFILE, "paper"),
    (params.DEVICE, "cpu"),
    (params.DATASET, "digits"),
    (params.DOWNLOAD, False),
    (params.MAZE_SIZE, "large"),
    (params.MAZE_SIZES, ["small", "large"]),
    (params.MAZE_SIZES, []),
    (params.depth("resnet_bn"), 19),
    (params.depths("maze"), 20),
    (params.depths("maze"), [8, 44]),
    (params.families(["mlp", "resnet"]), ["resnet"]),
    (params.family_depths(["mlp", "resnet"]), {"mlp": [3, 10], "resnet": [7, 19]}),
    (params.family_seeds(["mlp", "resnet"]), [0, 1]),
    (params.family_seeds(["mlp", "resnet"]), {"mlp": [0, 1, 2], "resnet": [4]}),
])
def test_ready_specs_accept_good_values(spec, good):
    assert _problem(spec, good) == ""


@pytest.mark.parametrize("spec,bad,allowed", [
    (params.SEEDS, [], "a non-empty list of non-negative integers"),
    (params.SEEDS, [0, -1], "a non-empty list of non-negative integers"),
    (params.SEEDS, [True], "a non-empty list of non-negative integers"),
    (params.SEEDS, [0.0], "a non-empty list of non-negative integers"),
    (params.SEEDS, 0, "a non-empty list of non-negative integers"),
    (params.PROFILE, "fast", "one of 'quick', 'extended', 'evidence', 'paper'"),
    (params.DEVICE, "gpu", "one of 'auto', 'cpu', 'cuda', 'mps'"),
    (params.DATASET, "mnist", "one of 'digits', 'cifar10', 'svhn', 'emnist'"),
    (params.DOWNLOAD, 1, "bool"),
    (params.MAZE_SIZES, ["huge"], "a list of distinct maze sizes from small, medium, large"),
    (params.MAZE_SIZES, ["small", "small"], "a list of distinct maze sizes"),
    (params.MAZE_SIZES, "small", "a list of distinct maze sizes"),
    (params.depth("resnet_bn"), 18, "an effective depth 4n+3 from 7, 11, 15, 19, ..., 43"),
    (params.depth("resnet_bn"), True, "an effective depth 4n+3 from 7, 11, 15, 19"),
    (params.depth("resnet_bn"), [19], "an effective depth 4n+3"),
    (params.depths("maze"), 21,
     "an effective depth 4n+4 from 8, 12, 16, 20, ..., 44, or a list of them"),
    (params.depths("maze"), 48, "4n+4 from 8, 12, 16, 20, ..., 44"),
    (params.depths("maze", up_to=20), 24, "4n+4 from 8, 12, 16, 20, or a list"),
    (params.depths("maze"), [8, True], "or a list of them"),
    (params.depths("maze"), [], "or a list of them"),
    (params.depths("maze"), 8.0, "or a list of them"),
    (params.families(["mlp", "resnet"]), ["convnet"], "a non-empty list of mlp, resnet"),
    (params.families(["mlp", "resnet"]), [], "a non-empty list of mlp, resnet"),
    (params.family_depths(["mlp", "resnet"]), {"mlp": [2]}, "mlp n+2 from 3, 4, 5, 6, ..., 44"),
    (params.family_depths(["mlp", "resnet"]), {"resnet": [8]}, "resnet 4n+3 from 7, 11, 15, 19"),
    (params.family_depths(["mlp", "resnet"]), {"mlp": [True]}, "a dict family -> list"),
    (params.family_depths(["mlp", "resnet"]), {"mlp": []}, "a dict family -> list"),
    (params.family_depths(["mlp", "resnet"]), {"maze": [8]}, "a dict family -> list"),
    (params.family_depths(["mlp", "resnet"]), [3, 4], "a dict family -> list"),
    (params.family_seeds(["mlp", "resnet"]), [], "a dict family -> such a list (families: mlp,"),
    (params.family_seeds(["mlp", "resnet"]), {"mlp": [-1]}, "or a dict family -> such a list"),
    (params.family_seeds(["mlp", "resnet"]), {"maze": [0]}, "(families: mlp, resnet)"),
    (params.family_seeds(["mlp", "resnet"]), {"mlp": 0}, "a non-empty list of non-negative"),
    (params.family_seeds(["mlp", "resnet"]), 3, "a non-empty list of non-negative integers"),
])
def test_ready_specs_reject_bad_values_naming_what_is_allowed(spec, bad, allowed):
    problem = _problem(spec, bad)
    assert f"x = {bad!r} is not allowed: use" in problem
    assert allowed in problem


def test_an_int_parameter_takes_numpy_integers_but_never_a_flag():
    spec = Param(int, minimum=1)
    assert spec.ok(np.int64(3)) and spec.ok(3)
    assert not spec.ok(True) and not spec.ok(3.0) and not spec.ok(np.int64(0))
    assert Param((int, bool)).ok(True) and Param(bool).ok(False) and not Param(bool).ok(0)


# --------------------------------------------------------------------------- run names
RUNS = sorted((Path(__file__).parents[1] / "results").glob("*/runs/*.json"))


def test_committed_records_keep_their_names():
    """A run's file name holds its config's key(): every committed record's config, read
    back, must name the same file, or finished runs would be trained again."""
    assert RUNS, "no committed run records found"
    for path in RUNS:
        config = TrainConfig.from_dict(json.loads(path.read_text())["config"])
        assert config.name() == path.stem, path.name


def test_a_config_names_its_recipe_and_every_profile_row_gives_one():
    """The optimisation settings have no defaults in TrainConfig (one place for numbers:
    recur.profiles): a config without them is refused, naming them; every profile row
    sets them all."""
    recipe = ("optimizer", "lr", "momentum", "weight_decay", "warmup_epochs", "milestones",
              "gamma", "epochs", "batch_size")
    required = [f.name for f in dataclasses.fields(TrainConfig)
                if f.default is dataclasses.MISSING]
    assert set(recipe) <= set(required)
    with pytest.raises(ValueError, match="missing config key.* lr, momentum"):
        TrainConfig.from_dict(dict(experiment="mazes", family="maze", recurrent=True, depth=8,
                                   dataset="mazes", optimizer="adam"))
    from recur import profiles
    for table in (profiles.PAPER, profiles.QUICK):
        for experiment, rows in table.items():
            for key, row in rows.items():
                assert set(recipe) <= set(row), (experiment, key)

def test_one_shared_batchnorm_is_a_setting_of_the_recurrent_batchnorm_resnet_only():
    """``shared_norm`` (notebook 04's control) names its runs apart, leaves every other
    run's name as it was before the field existed, and is refused where it means nothing."""
    from recur.profiles import make_config
    ours = make_config("quick", "classification", family="resnet_bn", recurrent=True, depth=19)
    old = {k: v for k, v in ours.to_dict().items() if k != "shared_norm"}  # an older record
    assert TrainConfig.from_dict(old).name() == ours.name()
    assert ours.replace(shared_norm=True).name() != ours.name()
    for bad in (dict(recurrent=False, depth=18, family="resnet18"), dict(family="resnet")):
        with pytest.raises(ValueError, match="shared_norm=True is for the recurrent resnet_bn"):
            ours.replace(shared_norm=True, **bad)
    with pytest.raises(ValueError, match="shared_norm = 1 is not allowed"):
        ours.replace(shared_norm=1)


def test_every_chosen_family_needs_an_entry_in_a_per_family_dict():
    params.require_entries(["mlp", "convnet"], depths={"mlp": [3], "convnet": [4]},
                           seeds=[0, 1])  # a list serves every family
    params.require_entries(["mlp"], depths={"mlp": [3], "resnet": [7]})  # extra entries: fine
    with pytest.raises(ValueError, match="seeds has no entry for convnet, resnet"):
        params.require_entries(["mlp", "convnet", "resnet"], depths=[3], seeds={"mlp": [0]})


def test_depth_list_and_the_new_ready_specs():
    assert params.depth_list(20) == [20] and params.depth_list([20, 8, 8]) == [8, 20]
    assert params.SPLIT.ok("per-seed") and not params.SPLIT.ok("per seed")
    assert params.STUDIES.ok("auto") and not params.STUDIES.ok(True)
    assert params.COUNT.ok(0) and not params.COUNT.ok(-1) and not params.COUNT.ok(True)
    assert params.WIDTH.ok(0) and params.WIDTH.ok(256) and not params.WIDTH.ok(1)
    assert "0 (the paper's parameter ratio)" in params.WIDTH.describe()


def test_the_extended_profile_trains_the_quick_profiles_nets():
    """A run both profiles make is one run (one name, one record), and an unknown profile
    is named with the ones there are."""
    from recur import profiles
    for experiment, family, depth in (("mazes", "maze", 20), ("classification", "resnet", 19)):
        quick = profiles.make_config("quick", experiment, family=family, recurrent=True,
                                     depth=depth, seed=3)
        extended = profiles.make_config("extended", experiment, family=family,
                                        recurrent=True, depth=depth, seed=3)
        assert extended == quick and extended.name() == quick.name()
        assert extended.profile == "quick"
    paper = profiles.make_config("paper", "mazes", family="maze", recurrent=True, depth=20)
    assert paper.profile == "paper" and paper.width == 128
    with pytest.raises(ValueError, match="unknown profile 'huge'; choose from quick, extended"):
        profiles.make_config("huge", "mazes", family="maze", recurrent=True, depth=20)
