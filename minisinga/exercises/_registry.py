"""The exercises' registry: ``Exercise``, the ``@exercise`` decorator that the
chapters' check modules (checks_*.py) register with, and ``ExerciseFailed``.
``minisinga.exercises`` re-exports them; the check modules import them from
here, so that the package and its check modules do not import each other.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["EXERCISES", "Exercise", "ExerciseFailed", "exercise"]


class ExerciseFailed(AssertionError):
    """An answer is wrong; the message says what was expected and where to look."""


@dataclass
class Exercise:
    """One autograded exercise.

    Attributes:
        id: ``"<chapter>.<n>"``, for example ``"autograd.2"``.
        page: the docs page, relative to docs/ (``"autograd.md"``).
        title: one line.
        file: the student's file, relative to the exercises folder.
        names: the names the check reads from ``file`` (functions, classes);
            empty for a C file, which is read whole.
        hint: what to re-read or think about when the check fails.
        check: ``check(workspace)``; returns None or raises ``ExerciseFailed``.
    """

    id: str
    page: str
    title: str
    file: str
    names: tuple[str, ...]
    hint: str
    check: Callable

    @property
    def chapter(self) -> str:
        """The chapter, as the docs page without ``.md`` (``"ops/matmul"``)."""
        return self.page.removesuffix(".md")


#: Every exercise, by id, in the order the chapters come in the docs.
EXERCISES: dict[str, Exercise] = {}


def exercise(id: str, page: str, title: str, file: str, names=(), hint: str = ""):
    """Decorator: register ``check`` as the check of a new exercise."""
    def wrap(check: Callable) -> Callable:
        if id in EXERCISES:
            raise ValueError(f"exercise {id!r} is registered twice")
        EXERCISES[id] = Exercise(id, page, title, file, tuple(names), hint, check)
        return check
    return wrap
