"""Errors a user can hit. Each message says what went wrong and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass


class WorkbenchError(Exception):
    """Base class for every error shown to a user. The message is the fix."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is and what to do about it."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ValidationFailed(WorkbenchError):
    """Raised with every problem found at once, never only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) found:\n{lines}")


class NotFound(WorkbenchError):
    """A named thing (rubric, round, judge, nomination) does not exist."""


class NotAllowed(WorkbenchError):
    """The action is refused: a conflict of interest, a locked score, a changed rubric."""


class StaleWrite(WorkbenchError):
    """Someone else saved the same thing first; reload and try again."""
