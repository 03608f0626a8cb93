"""Validation at the library's boundaries, in one vocabulary.

Public entry points (:class:`recur.config.TrainConfig`, the model factory, the notebooks'
parameters, data sources) check their arguments with these helpers and raise one
``ValueError`` naming the argument, its value and what is allowed; internal functions
assert instead.  ``bool`` is an ``int`` in Python, but a flag given where a number is meant
is a mistake, never 0 or 1, so :func:`is_integer` refuses it.
"""
from __future__ import annotations

import numbers


def is_integer(value) -> bool:
    """An integer (Python or numpy), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def bad(name: str, value, allowed: str) -> ValueError:
    """The one error message for a value that is not allowed (raise it)."""
    return ValueError(f"{name} = {value!r} is not allowed: use {allowed}")


def integer(name: str, value, least: int | None = None, *, optional: bool = False) -> None:
    """``value`` is an integer ``>= least`` (or None when ``optional``), else ValueError."""
    if optional and value is None:
        return
    if not is_integer(value) or (least is not None and value < least):
        allowed = "an integer" + (f" >= {least}" if least is not None else "")
        raise bad(name, value, allowed + (" or None" if optional else ""))


def one_of(name: str, value, allowed) -> None:
    """``value`` is one of ``allowed``, else ValueError listing them."""
    if isinstance(value, bool) or value not in allowed:
        raise bad(name, value, "one of " + ", ".join(map(str, allowed)))
