"""Delete the old pymdownx.snippets section markers from the library's source.

    python tools/strip_snippet_markers.py          # rewrite the files, list them
    python tools/strip_snippet_markers.py --check  # list them, exit 1 if any

The docs include a definition by its name (``--8<-- "minisinga/ops/activation.py:ReLU"``,
docs/hooks/include.py), so the ``# --8<-- [start:X]`` / ``# --8<-- [end:X]`` lines (and
the C ``/* --8<-- [start:X] */`` and ``// --8<-- ...`` ones) mark nothing any more.  Every
such line is deleted whole; nothing else changes.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: A line that is only a section marker, as a Python or C comment.
MARKER = re.compile(r"^\s*(?:#|//|/\*)\s*--8<--\s+\[(?:start|end):[\w-]+\]\s*(?:\*/)?\s*$")
SUFFIXES = {".py", ".c", ".h", ".cu"}


def strip(text: str) -> str:
    """``text`` without its marker lines."""
    return "".join(line for line in text.splitlines(keepends=True) if not MARKER.match(line))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = []
    for path in sorted((ROOT / "minisinga").rglob("*")):
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        new = strip(text)
        if new != text:
            changed.append(path.relative_to(ROOT))
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in changed:
        print(path)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
