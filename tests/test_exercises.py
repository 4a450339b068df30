"""The exercises' checks are proven both ways (python -m minisinga.exercises).

For every exercise: the reference solution (tests/exercise_solutions/) passes
its check, the stub in exercises/ fails it, and every plausible wrong answer in
tests/exercise_solutions/wrong_answers.py fails it.  A meta-test fails for an
exercise without a solution or without a wrong answer.  The command line is
tested on copies of the folders (its status cache is written there).
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minisinga.exercises import Workspace, all_exercises, fingerprint, run_check
from minisinga.exercises.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "exercises"
SOLUTIONS = ROOT / "tests" / "exercise_solutions"
EXERCISES = all_exercises()


def _load_wrong():
    spec = importlib.util.spec_from_file_location("_exercise_wrong_answers",
                                                  SOLUTIONS / "wrong_answers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.WRONG


WRONG = _load_wrong()
WRONG_CASES = [(i, k) for i in EXERCISES for k in range(len(WRONG.get(i, [])))]


@pytest.mark.parametrize("ex_id", list(EXERCISES))
def test_solution_passes(ex_id):
    res = run_check(EXERCISES[ex_id], Workspace(SOLUTIONS))
    assert res.passed, f"{ex_id}: the reference solution fails: {res.message}"


@pytest.mark.parametrize("ex_id", list(EXERCISES))
def test_stub_fails(ex_id):
    ex = EXERCISES[ex_id]
    res = run_check(ex, Workspace(STUBS))
    assert not res.passed, f"{ex_id}: the untouched stub passes its check"
    if ex.file.endswith(".py"):
        assert res.stub, f"{ex_id}: a Python stub should fail by NotImplementedError: {res.message}"
        assert "docs/" in res.message, f"{ex_id}: the stub's message should point at the docs"


@pytest.mark.parametrize("ex_id,k", WRONG_CASES, ids=[f"{i}-{k}" for i, k in WRONG_CASES])
def test_wrong_answer_fails(ex_id, k):
    what, overrides = WRONG[ex_id][k]
    res = run_check(EXERCISES[ex_id], Workspace(SOLUTIONS, overrides))
    assert not res.passed, f"{ex_id}: the wrong answer ({what}) passes the check"
    assert not res.stub and res.message, f"{ex_id}: {what}: no explanation: {res.message!r}"


def test_every_exercise_has_a_solution_a_stub_and_a_wrong_answer():
    assert len(EXERCISES) >= 30
    assert set(WRONG) <= set(EXERCISES), f"wrong answers of unknown exercises: " \
                                         f"{set(WRONG) - set(EXERCISES)}"
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    for ex in EXERCISES.values():
        assert WRONG.get(ex.id), f"{ex.id} has no wrong answer in wrong_answers.py"
        assert ex.page in pages, f"{ex.id}: no docs page {ex.page}"
        assert ex.hint, f"{ex.id} has no hint"
        for folder in (STUBS, SOLUTIONS):
            path = folder / ex.file
            assert path.is_file(), f"{ex.id}: {path} is missing"
            for name in ex.names:
                assert f"def {name}(" in path.read_text() or f"class {name}(" in \
                    path.read_text(), f"{ex.id}: {path} does not define {name}"


# ----------------------------------------------------------------------------- the command line
@pytest.fixture
def solved(tmp_path):
    folder = tmp_path / "exercises"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    return folder


def test_list_prints_every_exercise_and_the_cached_status(solved, capsys):
    assert main(["--dir", str(solved), "list"]) == 0
    out = capsys.readouterr().out
    for ex_id in EXERCISES:
        assert any(line.split()[:1] == [ex_id] and " todo " in line
                   for line in out.splitlines()), f"{ex_id} missing or not todo"
    assert main(["--dir", str(solved), "check", "shapes.1", "cuda.2"]) == 0
    capsys.readouterr()
    main(["--dir", str(solved), "list"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert " passed " in lines["shapes.1"] and " todo " in lines["shapes.2"]
    # Editing the function makes its status todo again (it has not been checked since).
    path = solved / "ch08_shapes.py"
    path.write_text(path.read_text().replace("inv[p] = k", "inv[p] = k  # edited"))
    main(["--dir", str(solved), "list"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert " todo " in lines["shapes.1"] and " passed " in lines["cuda.2"]


def test_check_reports_a_failure_with_a_hint_and_exit_status(solved, capsys):
    path = solved / "ch08_shapes.py"
    path.write_text(path.read_text().replace("inv[p] = k", "inv[k] = p"))
    assert main(["--dir", str(solved), "check", "shapes.1", "cuda.1"]) == 1
    out = capsys.readouterr().out
    assert "PASS  cuda.1" in out and "FAIL  shapes.1" in out
    assert "hint: " in out and "np.argsort(perm)" in out and "docs/ops/shapes.md" in out
    assert fingerprint(EXERCISES["shapes.1"], solved)   # (cached with a fingerprint)


def test_check_of_an_unknown_id_and_of_a_missing_folder(tmp_path, capsys):
    assert main(["--dir", str(SOLUTIONS), "check", "nope.1"]) == 2
    assert "unknown exercise id(s): nope.1" in capsys.readouterr().err
    assert main(["--dir", str(tmp_path / "absent"), "list"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_default_folder_is_found_from_a_fresh_clone_and_minisinga_does_not_import_it(tmp_path):
    code = ("import sys, minisinga; assert 'minisinga.exercises' not in sys.modules; "
            "from minisinga.exercises import find_folder; print(find_folder())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert Path(out) == STUBS


def test_dir_after_the_command_and_the_line_of_a_crash_in_the_students_code(solved, capsys):
    path = solved / "ch19_cuda.py"
    path.write_text(path.read_text().replace("    t = 32\n", "    t = 32 // 0\n"))
    assert main(["check", "cuda.3", "--dir", str(solved)]) == 1
    out = capsys.readouterr().out
    assert "your code raised ZeroDivisionError" in out and f"{path.resolve()}:" in out


def test_the_checks_leave_no_public_operation_behind():
    """test_ops's meta-test wants a registry entry for every public Operation of
    minisinga: the checks' own wrappers must stay private (and the student's
    modules are not minisinga's)."""
    run_check(EXERCISES["backend.4"], Workspace(SOLUTIONS))
    run_check(EXERCISES["autograd.1"], Workspace(SOLUTIONS))
    from minisinga import autograd
    seen, stack = set(), [autograd.Operation]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    leaked = [c.__name__ for c in seen if c.__module__.startswith("minisinga.exercises")
              and not c.__name__.startswith("_")]
    assert not leaked, f"public Operations defined by the checks: {leaked}"


def test_exercises_come_in_the_order_of_the_docs_navigation():
    import re
    order = re.findall(r"^\s+- [^:\n]+: (\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert "backend.md" in order and "cuda.md" in order
    seen = [order.index(ex.page) for ex in EXERCISES.values()]
    assert seen == sorted(seen), "list the exercises in the chapters' order"
