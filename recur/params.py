"""Validation of a notebook's ``parameters`` cell, run in the cell right after it.

papermill only warns about a parameter the notebook does not declare and passes values
of any type, so the notebooks call :func:`validate` to turn both into clear errors before
any heavy work.
"""
from __future__ import annotations

import types
from collections.abc import Callable

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

    def ok(self, value) -> bool:
        # bool is an int in Python; a flag given where a number is wanted is a mistake.
        if isinstance(value, bool) and bool not in self.kind:
            return False
        if not isinstance(value, self.kind):
            return False
        if self.choices is not None and value not in self.choices:
            return False
        if self.minimum is not None and value is not None and value < self.minimum:
            return False
        if self.maximum is not None and value is not None and value > self.maximum:
            return False
        return self.test is None or bool(self.test(value))


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
        and name not in ignore
        and not isinstance(value, (types.ModuleType, types.FunctionType, type)))
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)}; this notebook takes "
                        f"{', '.join(spec)}")
    if problems:
        raise ValueError("bad notebook parameters:\n  " + "\n  ".join(problems))
    return {name: namespace[name] for name in spec}
