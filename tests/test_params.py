import pytest

from recur.params import Param, validate

SPEC = {"profile": Param(str, choices=("quick", "paper")),
        "n_examples": Param(int, minimum=1, maximum=64),
        "depth": Param((int, list), test=lambda d: all(x % 4 == 0 for x in ([d] if isinstance(d, int) else d)),
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
    assert "unknown parameter(s) n_exampels; this notebook takes profile, n_examples, depth" in str(err.value)
