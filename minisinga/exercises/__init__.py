"""minisinga.exercises: the course's autograded exercises.

Every chapter of the docs ends with a few exercises.  A student writes the
answers in the stub files of the ``exercises/`` folder at the repository root
(``exercises/ch02_autograd.py``, ``exercises/ch01_backend/square.c``, ...),
then runs::

    python -m minisinga.exercises list            # one line per exercise, with its status
    python -m minisinga.exercises check           # check every exercise
    python -m minisinga.exercises check autograd.1 backend.4

Each exercise is an ``Exercise``: an id (``"<chapter>.<n>"``), the docs page
it belongs to, a title, the names in the student's files that it reads, and a
``check`` function.  A check loads the student's code through a ``Workspace``
and tests it against minisinga itself (its operations, its ``gradcheck``, its
kernels); it raises ``ExerciseFailed`` with a hint when the answer is wrong.

This package is not imported by ``import minisinga``; it is course material.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ._registry import EXERCISES, Exercise, ExerciseFailed, exercise

__all__ = ["Exercise", "ExerciseFailed", "Workspace", "Result", "EXERCISES", "exercise",
           "find_folder", "run_check", "fingerprint", "load_results", "save_results",
           "all_exercises"]

#: The file, in the exercises folder, where ``check`` remembers its results.
RESULTS_FILE = ".results.json"


#: The chapters in the order of the docs' navigation (mkdocs.yml).
PAGE_ORDER = ("backend.md", "autograd.md", "gradcheck.md", "ops/elementwise.md",
              "ops/activations.md", "ops/matmul.md", "ops/losses.md", "ops/shapes.md",
              "ops/dropout.md", "ops/trigonometric.md", "ops/logic.md", "ops/indexing.md",
              "ops/convolution.md", "ops/pooling.md", "ops/batchnorm.md", "layers.md",
              "optimizers.md", "performance/matmul-ladder.md", "cuda.md")


def all_exercises() -> dict[str, Exercise]:
    """Every exercise by id, every chapter's checks imported, in the docs' order."""
    from . import (  # noqa: F401
        checks_basics,
        checks_more_ops,
        checks_ops,
        checks_speed,
        checks_training,
    )
    order = {page: i for i, page in enumerate(PAGE_ORDER)}
    ranked = sorted(EXERCISES.values(),
                    key=lambda e: (order.get(e.page, len(order)), int(e.id.split(".")[1])))
    return {e.id: e for e in ranked}


# ----------------------------------------------------------------------------- workspace
_module_counter = itertools.count()


class Workspace:
    """The student's files, as a check sees them.

    Args:
        folder: the exercises folder.
        overrides: ``{(file, name): object}`` replaces one name of a Python
            file, ``{(file, None): text}`` the whole text of a C file.  The tests
            use it to feed a check a reference solution or a wrong answer.
    """

    def __init__(self, folder, overrides: dict | None = None):
        self.folder = Path(folder)
        self.overrides = dict(overrides or {})
        self._modules: dict[str, object] = {}

    def module(self, file: str):
        """The student's Python file ``file``, imported fresh (once per workspace)."""
        mod = self._modules.get(file)
        if mod is None:
            path = self.folder / file
            if not path.is_file():
                raise ExerciseFailed(f"{path} does not exist; restore it from git "
                                     "(git checkout -- exercises/) or point --dir at your copy")
            name = f"_minisinga_exercise_{next(_module_counter)}"
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod   # (dataclasses and pickling look modules up here)
            try:
                spec.loader.exec_module(mod)
            except Exception as exc:
                raise ExerciseFailed(f"importing {path} failed: {type(exc).__name__}: "
                                     f"{exc}") from exc
            self._modules[file] = mod
        return mod

    def get(self, file: str, name: str):
        """The object ``name`` defined in the student's ``file``."""
        if (file, name) in self.overrides:
            return self.overrides[(file, name)]
        mod = self.module(file)
        if not hasattr(mod, name):
            raise ExerciseFailed(f"{self.folder / file} defines no {name!r}; keep the "
                                 "name of the stub")
        return getattr(mod, name)

    def text(self, file: str) -> str:
        """The text of the student's ``file`` (a C source)."""
        if (file, None) in self.overrides:
            return self.overrides[(file, None)]
        path = self.folder / file
        if not path.is_file():
            raise ExerciseFailed(f"{path} does not exist; restore it from git "
                                 "(git checkout -- exercises/)")
        return path.read_text()


# ----------------------------------------------------------------------------- running
@dataclass
class Result:
    """The outcome of one check: ``passed``, and on failure the message to show."""

    id: str
    passed: bool
    message: str = ""
    stub: bool = False     # the answer is still the stub (NotImplementedError)


def run_check(ex: Exercise, ws: Workspace) -> Result:
    """Run one check; never raises for a wrong or broken answer."""
    try:
        ex.check(ws)
    except NotImplementedError as exc:
        return Result(ex.id, False, f"not done yet (the stub raises NotImplementedError: "
                                    f"{exc})", stub=True)
    except ExerciseFailed as exc:
        return Result(ex.id, False, str(exc))
    except Exception as exc:  # the student's code raised: say what and where
        tb = exc.__traceback__
        where = ""
        folder = ws.folder.resolve()
        while tb is not None:   # the innermost line of the student's own files
            path = Path(tb.tb_frame.f_code.co_filename).resolve()
            if path.is_relative_to(folder):
                where = f" (at {path}:{tb.tb_lineno})"
            tb = tb.tb_next
        return Result(ex.id, False, f"your code raised {type(exc).__name__}: {exc}{where}")
    return Result(ex.id, True)


def find_folder(given: str | None = None, cwd: Path | None = None) -> Path:
    """The exercises folder: ``given``, else ./exercises, else the repository's.

    Raises FileNotFoundError with advice when there is none."""
    if given is not None:
        path = Path(given)
        if not path.is_dir():
            raise FileNotFoundError(f"--dir {given}: no such folder (it should hold the "
                                    "exercise stubs, such as ch02_autograd.py)")
        return path
    here = (cwd or Path.cwd()) / "exercises"
    if here.is_dir():
        return here
    repo = Path(__file__).resolve().parent.parent.parent / "exercises"
    if repo.is_dir():
        return repo
    raise FileNotFoundError(
        "no exercises folder: looked for ./exercises and for the repository's "
        f"exercises/ ({repo}).  Run this from a clone of minisinga (the folder comes "
        "with the repository), or pass --dir PATH to a copy of it.")


# ----------------------------------------------------------------------------- status cache
def _source_of(path: Path, name: str | None) -> str:
    """The source of ``name`` (a top-level def or class) in ``path``; the whole file
    for ``None`` or when the file does not parse."""
    if not path.is_file():
        return ""
    text = path.read_text()
    if name is None:
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) \
                and node.name == name:
            return ast.get_source_segment(text, node) or ""
    return text


def fingerprint(ex: Exercise, folder: Path) -> str:
    """A hash of the code the exercise reads (its names' sources, or the C file)."""
    h = hashlib.sha256()
    for name in ex.names or (None,):
        h.update(_source_of(folder / ex.file, name).encode())
    return h.hexdigest()[:16]


def load_results(folder: Path) -> dict:
    """The results ``check`` saved: ``{id: {"passed": bool, "fingerprint": str}}``."""
    try:
        return json.loads((folder / RESULTS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def save_results(folder: Path, results: dict) -> None:
    """Save what ``check`` found (best effort: a read-only folder just has no cache)."""
    try:
        (folder / RESULTS_FILE).write_text(json.dumps(results, indent=1, sort_keys=True))
    except OSError:
        pass
