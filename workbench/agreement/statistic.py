"""What every agreement function returns: a value, or ``None`` with the reason why not.

A statistic can be undefined for perfectly good data: one rater has no one to agree with,
identical ratings leave nothing to correct for chance. Those cases return a :class:`Stat`
whose ``value`` is ``None`` and whose ``note`` says why in plain words, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Stat:
    """A statistic's value, or ``None`` with a ``note`` saying why it is undefined.

    A defined value may carry a note too, when it rests on part of the data.

    >>> Stat(0.5)
    Stat(value=0.5, note=None)
    >>> Stat.undefined("Only one rater, so there is no one to agree with.").defined
    False
    """

    value: float | None
    note: str | None = None

    def __post_init__(self):
        if self.value is not None:
            value = float(self.value)
            if not math.isfinite(value):
                raise ValueError(f"a statistic must be finite or None, not {value}")
            object.__setattr__(self, "value", value)
        elif not self.note:
            raise ValueError("an undefined statistic needs a note saying why")

    @classmethod
    def undefined(cls, note: str) -> Stat:
        return cls(None, note)

    @property
    def defined(self) -> bool:
        return self.value is not None

    def __float__(self) -> float:
        if self.value is None:
            raise TypeError(f"undefined statistic: {self.note}")
        return self.value


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval; ``low``/``high`` are ``None`` (with a note) when undefined."""

    low: float | None
    high: float | None
    level: float
    resamples: int
    used: int
    note: str | None = None

    @property
    def defined(self) -> bool:
        return self.low is not None
