"""Validation of a notebook's ``parameters`` cell, run in the cell right after it.

papermill only warns about a parameter the notebook does not declare and passes values
of any type, so the notebooks call :func:`validate` to turn both into clear errors before
any heavy work.  Ready-made specs (``SEEDS``, ``PROFILE``, ``DEVICE``, ``DATASET``,
``depths("maze")``, ...) keep a validation cell to a few lines:

    validate(globals(), {"depth": depths("maze"), "seeds": SEEDS, "profile": PROFILE})
"""
from __future__ import annotations

import sys
import types
from collections.abc import Callable

from recur import checks, datasets
from recur.datasets import IMAGE_DATASETS
from recur.config import DEVICES
from recur.depths import valid_depths
from recur.profiles import PROFILES

_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


class Param:
    """One parameter: its type(s), and the allowed values (``choices``), range or test."""

    def __init__(self, kind, *, choices=None, minimum=None, maximum=None,
                 test: Callable | None = None, allowed: str | None = None):
        self.kind = kind if isinstance(kind, tuple) else (kind,)
        self.choices, self.minimum, self.maximum = choices, minimum, maximum
        self.test, self.allowed = test, allowed

    def describe(self) -> str:
        if self.allowed:
            return self.allowed
        if self.choices is not None:
            return "one of " + ", ".join(map(repr, self.choices))
        names = " or ".join("None" if k is type(None) else k.__name__ for k in self.kind)
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum}")
        return names + (" " + " and ".join(bounds) if bounds else "")

    def _is_kind(self, value) -> bool:
        """Of one of the kinds; an ``int`` kind takes integers and never a flag
        (:func:`recur.checks.is_integer`)."""
        if isinstance(value, bool):
            return bool in self.kind
        return any(checks.is_integer(value) if k is int else isinstance(value, k)
                   for k in self.kind)

    def ok(self, value) -> bool:
        if not self._is_kind(value):
            return False
        if self.choices is not None and value not in self.choices:
            return False
        if self.minimum is not None and value is not None and value < self.minimum:
            return False
        if self.maximum is not None and value is not None and value > self.maximum:
            return False
        return self.test is None or bool(self.test(value))


def _imported(name: str, value) -> bool:
    """Is ``value`` a library constant imported under its own name (``from recur.forms import
    FORMS``), rather than a parameter?"""
    return any(getattr(module, name, None) is value for module in list(sys.modules.values())
               if getattr(module, "__name__", "").startswith("recur"))


def validate(namespace: dict, spec: dict[str, Param], ignore=()) -> dict:
    """Check the notebook's parameters in ``namespace`` (pass ``globals()``) against ``spec``.

    Raises ``ValueError`` naming every bad value with what is allowed, and every name
    that is not a parameter of this notebook (a misspelt ``-p`` on the papermill command
    line).  ``ignore`` names globals of the notebook that are not parameters.  Returns
    the parameters as a dict.
    """
    problems = []
    for name, param in spec.items():
        if name not in namespace:
            problems.append(f"parameter {name!r} is missing")
        elif not param.ok(namespace[name]):
            problems.append(f"{name} = {namespace[name]!r} is not allowed: "
                            f"use {param.describe()}")
    unknown = sorted(
        name for name, value in namespace.items()
        if not name.startswith("_") and name not in spec and name not in _IPYTHON_NAMES
        and name not in ignore and not _imported(name, value)
        and not isinstance(value, (types.ModuleType, types.FunctionType, type)))
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)}; this notebook takes "
                        f"{', '.join(spec)}")
    if problems:
        raise ValueError("bad notebook parameters:\n  " + "\n  ".join(problems))
    return {name: namespace[name] for name in spec}


def require_entries(families, **per_family) -> None:
    """Cross-check of parameters: every per-family dict among ``per_family`` (name -> a
    dict family -> value, or one value for all) has an entry for each of ``families``;
    a ``ValueError`` names the first that has not and the families it lacks."""
    for name, value in per_family.items():
        if isinstance(value, dict) and (missing := [f for f in families if f not in value]):
            raise ValueError(f"{name} has no entry for {', '.join(missing)}")


def depth_list(depth) -> list[int]:
    """One effective depth or a list of them (a ``depths`` parameter) as a sorted list
    without repeats."""
    return sorted({depth} if checks.is_integer(depth) else set(depth))


# --------------------------------------------------------------------------- ready-made specs
def _listing(values, head: int = 4) -> str:
    """``8, 12, 16, 20, ..., 44``: the first few values and the last."""
    values = list(values)
    if len(values) <= head + 1:
        return ", ".join(map(str, values))
    return ", ".join(map(str, values[:head])) + f", ..., {values[-1]}"


def _depth_rule(family: str, up_to: int) -> str:
    """A family's valid effective depths in words, e.g. ``4n+4 from 8, 12, 16, 20, ..., 44``."""
    valid = valid_depths(family, up_to)
    if len(valid) < 2:
        return _listing(valid)
    step = valid[1] - valid[0]
    return f"{'' if step == 1 else step}n+{valid[0] - step} from {_listing(valid)}"


def _valid_depth(family: str, up_to: int) -> Callable:
    valid = set(valid_depths(family, up_to))
    return lambda d: checks.is_integer(d) and d in valid


#: Seeds: a non-empty list of non-negative ints (``[True]`` is not a seed).
def _seed_list(s) -> bool:
    return isinstance(s, list) and s != [] and all(checks.is_integer(x) and x >= 0 for x in s)


SEEDS = Param(list, test=_seed_list, allowed="a non-empty list of non-negative integers")
SEED = Param(int, minimum=0)


def family_seeds(choices) -> Param:
    """A seed list for every family, or a dict family -> seed list (families from
    ``choices``): notebook 02 spends more seeds where a run costs least."""
    choices = tuple(choices)
    return Param((list, dict), test=lambda s: _seed_list(s) if isinstance(s, list) else all(
        k in choices and _seed_list(v) for k, v in s.items()),
        allowed="a non-empty list of non-negative integers, or a dict family -> such a list "
                "(families: " + ", ".join(choices) + ")")
FLAG = Param(bool)
DOWNLOAD = FLAG
PROFILE = Param(str, choices=PROFILES)
DEVICE = Param(str, choices=DEVICES)
DATASET = Param(str, choices=IMAGE_DATASETS)  # the image datasets (mazes have their own notebook)
#: How a sweep splits a dataset without an official train/test split (recur.sweep.grid).
SPLIT_POLICIES = ("per-seed", "fixed")  # digits: a train/test split per seed, or one
SPLIT = Param(str, choices=SPLIT_POLICIES)
STUDIES = Param(str, choices=("auto", "yes", "no"))  # run optional studies: auto, yes, no
COUNT = Param(int, minimum=0, maximum=10_000_000)  # a count where 0 means "the default"
WIDTH = Param(int, test=lambda w: w == 0 or 2 <= w <= 4096,
              allowed="0 (the paper's parameter ratio) or a width from 2 to 4096")
#: p-hop pointers followed to the answer (notebook 06): each needs more depth; eight fit the
#: task's 32-token sequences with room to draw them
HOPS = Param(int, minimum=1, maximum=8)
MAZE_SIZE = Param(str, choices=tuple(datasets.MAZE_SIZES))
MAZE_SIZES = Param(list, test=lambda s: all(x in datasets.MAZE_SIZES for x in s)
                   and len(set(s)) == len(s), allowed="a list of distinct maze sizes from "
                   f"{', '.join(datasets.MAZE_SIZES)} (may be empty)")


def depth(family: str, up_to: int = 44) -> Param:
    """One valid effective depth of ``family`` (``recur.models.valid_depths``)."""
    return Param(int, test=_valid_depth(family, up_to),
                 allowed=f"an effective depth {_depth_rule(family, up_to)}")


def depths(family: str, up_to: int = 44) -> Param:
    """A valid effective depth of ``family``, or a non-empty list of them."""
    ok = _valid_depth(family, up_to)
    return Param((int, list),
                 test=lambda d: ok(d) or (isinstance(d, list) and d != [] and all(map(ok, d))),
                 allowed=f"an effective depth {_depth_rule(family, up_to)}, or a list of them")


def families(choices) -> Param:
    """A non-empty list of family names from ``choices``."""
    choices = tuple(choices)
    return Param(list, test=lambda f: f != [] and all(x in choices for x in f),
                 allowed="a non-empty list of " + ", ".join(choices))


def family_depths(choices, up_to: int = 44) -> Param:
    """A dict family -> non-empty list of that family's valid effective depths, for
    families from ``choices``."""
    valid = {f: _valid_depth(f, up_to) for f in choices}

    def test(d: dict) -> bool:
        return all(k in valid and isinstance(v, list) and v != [] and all(map(valid[k], v))
                   for k, v in d.items())

    rules = "; ".join(f"{f} {_depth_rule(f, up_to)}" for f in valid)
    return Param(dict, test=test, allowed=f"a dict family -> list of effective depths ({rules})")
