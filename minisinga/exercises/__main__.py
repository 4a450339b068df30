"""``python -m minisinga.exercises list | check [ID ...] [--dir PATH]``.

``list`` prints one line per exercise: id, chapter, title and status.  It runs
no code: the status is what the last ``check`` of that exercise found, kept in
``exercises/.results.json`` with a hash of the code it checked.  ``todo`` means
never checked, or the code changed since the last check.

``check`` runs the checks (all by default), prints PASS or FAIL per exercise
and a hint for each failure, saves the results, and exits with status 1 when
any fails.
"""
from __future__ import annotations

import argparse
import faulthandler
import sys
import time

from . import Workspace, all_exercises, find_folder, fingerprint, load_results, run_check, save_results


def _status(ex, folder, results) -> str:
    saved = results.get(ex.id)
    if saved is None or saved.get("fingerprint") != fingerprint(ex, folder):
        return "todo"
    return "passed" if saved.get("passed") else "failed"


def cmd_list(folder) -> int:
    """Print every exercise with its status; returns 0."""
    exercises = all_exercises()
    results = load_results(folder)
    width = max(len(i) for i in exercises)
    cwidth = max(len(e.chapter) for e in exercises.values())
    for ex in exercises.values():
        print(f"{ex.id:<{width}}  {ex.chapter:<{cwidth}}  {_status(ex, folder, results):<6}  "
              f"{ex.title}")
    done = sum(_status(e, folder, results) == "passed" for e in exercises.values())
    print(f"\n{done} of {len(exercises)} passed (as of each one's last check) in {folder}")
    return 0


def cmd_check(folder, ids) -> int:
    """Check the given exercises (all when ``ids`` is empty); returns the exit status."""
    exercises = all_exercises()
    unknown = [i for i in ids if i not in exercises]
    if unknown:
        print(f"unknown exercise id(s): {', '.join(unknown)}; "
              "`python -m minisinga.exercises list` shows them all", file=sys.stderr)
        return 2
    chosen = [exercises[i] for i in ids] if ids else list(exercises.values())
    results = load_results(folder)
    failed = 0
    for ex in chosen:
        start = time.perf_counter()
        res = run_check(ex, Workspace(folder))
        took = time.perf_counter() - start
        results[ex.id] = {"passed": res.passed, "fingerprint": fingerprint(ex, folder)}
        if res.passed:
            print(f"PASS  {ex.id:<16} {ex.title}  ({took:.1f} s)")
            continue
        failed += 1
        print(f"FAIL  {ex.id:<16} {ex.title}")
        print(f"      {res.message}")
        if not res.stub:
            print(f"      hint: {ex.hint}")
        print(f"      file: {folder / ex.file}   read: docs/{ex.page}")
    save_results(folder, results)
    print(f"\n{len(chosen) - failed} of {len(chosen)} passed")
    return 1 if failed else 0


def main(argv=None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m minisinga.exercises",
                                     description="minisinga's autograded exercises")
    parser.add_argument("--dir", help="the exercises folder (default: ./exercises, "
                        "else the repository's exercises/)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="one line per exercise: id, chapter, status, title")
    p_check = sub.add_parser("check", help="check your answers (default: all)")
    p_check.add_argument("ids", nargs="*", metavar="ID")
    for p in (p_list, p_check):   # --dir also after the command
        p.add_argument("--dir", dest="dir_after", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        folder = find_folder(getattr(args, "dir_after", None) or args.dir)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "list":
        return cmd_list(folder)
    return cmd_check(folder, args.ids)


if __name__ == "__main__":
    # A crash in a student's C code (a segfault) kills the process: say where first.
    faulthandler.enable()
    sys.exit(main())
