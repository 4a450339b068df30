"""The documentation's examples run, and the docs' machinery works.

* Every ```python block of every page under docs/ is executed: the blocks of one
  page in order, in one fresh namespace per page.  Markers, each an HTML
  comment alone on the line right before the block's opening fence:

  - ``<!-- requires: minisinga.autograd, minisinga.opt -->``: the block needs
    modules that may not exist yet on this branch.  While one is missing, the
    block is skipped (the page's test says which blocks and why); it runs as
    soon as the module lands.
  - ``<!-- norun: <reason> -->``: the block is a fragment that cannot run; the
    reason is required.

  A block made only of ``--8<--`` include lines is a source listing, not an
  example, and is not run.
* The commands on the start page are the README's.
* Every file that a page includes with ``--8<--`` exists.
* The parser behind the derivative table (docs/hooks/derivatives.py) accepts
  the docstring contract and rejects each way of breaking it; when
  minisinga.autograd exists, every real Operation passes it.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_REQUIRES = re.compile(r"^\s*<!--\s*requires:\s*(?P<mods>[\w., ]+?)\s*-->\s*$")
_NORUN = re.compile(r"^\s*<!--\s*norun(?::\s*(?P<reason>.*?))?\s*-->\s*$")
_SNIPPET = re.compile(r'^\s*(?:;?)--8<--\s+"(?P<path>[^"]+)"')


@dataclass
class Block:
    """One fenced code block of a Markdown page."""

    lang: str
    code: str
    line: int                 # line number of the first code line (1-based)
    requires: tuple[str, ...] = ()
    norun: str | None = None  # the reason, when marked norun


def extract_blocks(text: str) -> list[Block]:
    """The fenced code blocks of ``text``, with the markers on the line before each."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group("indent"), m.group("fence"), m.group("lang")
        before = lines[i - 1] if i > 0 else ""
        body, j = [], i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            j += 1
        block = Block(lang=lang, code="\n".join(body) + "\n", line=i + 2)
        if r := _REQUIRES.match(before):
            block.requires = tuple(s.strip() for s in r.group("mods").split(",") if s.strip())
        if n := _NORUN.match(before):
            block.norun = (n.group("reason") or "").strip()
        blocks.append(block)
        i = j + 1
    return blocks


def is_source_listing(block: Block) -> bool:
    """A block made only of --8<-- include lines shows source, it is not an example."""
    lines = [s for s in block.code.splitlines() if s.strip()]
    return bool(lines) and all(_SNIPPET.match(s) for s in lines)


def missing_modules(names) -> list[str]:
    """The modules among ``names`` that do not exist (a broken one still raises)."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                missing.append(name)
            else:
                raise
    return missing


# -- the examples run -----------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_examples_run(page: Path):
    from minisinga import device

    rel = page.relative_to(ROOT).as_posix()
    blocks = [b for b in extract_blocks(page.read_text(encoding="utf-8"))
              if b.lang == "python" and not is_source_listing(b)]
    namespace = {"__name__": "docs_example"}
    threads = device.get_num_threads()
    ran, skipped = 0, []
    try:
        for block in blocks:
            if block.norun is not None:
                assert block.norun, (f"{rel}:{block.line}: a <!-- norun --> marker must say "
                                     "why: <!-- norun: <reason> -->")
                continue
            missing = missing_modules(block.requires)
            if missing:
                skipped.append((block.line, missing))
                continue
            # Pad with blank lines so a traceback shows the line number in the .md file.
            code = compile("\n" * (block.line - 1) + block.code, rel, "exec")
            exec(code, namespace)  # noqa: S102 - running the docs' examples is the point
            ran += 1
    finally:
        device.set_num_threads(threads)
        autograd = importlib.import_module("minisinga").__dict__.get("autograd")
        if autograd is not None and hasattr(autograd, "training"):
            autograd.training = False
    if skipped:
        needs = sorted({m for _, mods in skipped for m in mods})
        pytest.skip(f"{rel}: {ran} example(s) ran and passed; {len(skipped)} skipped (lines "
                    f"{', '.join(str(line) for line, _ in skipped)}) because "
                    f"these modules are not installed here (an optional extra): {', '.join(needs)}")


def test_extract_blocks_reads_markers():
    text = (
        "intro\n"
        "```python\nx = 1\n```\n"
        "<!-- requires: minisinga.autograd, minisinga.opt -->\n"
        "```python\ny = 2\n```\n"
        "<!-- norun: a fragment -->\n"
        "```python\nz(\n```\n"
        "??? abstract \"source\"\n\n"
        "    ```c\n    --8<-- \"minisinga/c/core.c\"\n    ```\n"
    )
    a, b, c, d = extract_blocks(text)
    assert (a.code, a.line, a.requires, a.norun) == ("x = 1\n", 3, (), None)
    assert b.requires == ("minisinga.autograd", "minisinga.opt")
    assert c.norun == "a fragment"
    assert d.lang == "c" and is_source_listing(d) and d.code == '--8<-- "minisinga/c/core.c"\n'


def test_missing_modules():
    assert missing_modules(["minisinga.tensor"]) == []
    assert missing_modules(["minisinga.no_such_module"]) == ["minisinga.no_such_module"]


# -- the pages agree with the repository ------------------------------------------------
def _readme_command(marker: str) -> str:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    i = lines.index(f"<!-- {marker} -->")
    assert lines[i + 1].startswith("```")
    return lines[i + 2].strip()


@pytest.mark.parametrize("marker", ["main-command", "test-command"])
def test_start_page_shows_the_readme_commands(marker):
    command = _readme_command(marker)
    assert command in (DOCS / "index.md").read_text(encoding="utf-8"), (
        f"docs/index.md should show the README's {marker}: {command}")


def test_snippet_includes_exist():
    problems = []
    for page in PAGES:
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            m = _SNIPPET.match(line)
            if m:
                path = m.group("path")
                # "file.c:name" (a section) or "file.c:10:20" (lines): the file is before ':'
                if ":" in path and not (ROOT / path).exists():
                    path = path.split(":", 1)[0]
                if not (ROOT / path).is_file():
                    problems.append(f"{page.relative_to(ROOT)}:{n}: {path}")
    assert not problems, "included files that do not exist: " + ", ".join(problems)


def test_snippet_includes_name_a_definition_that_exists():
    # ``--8<-- "file:name"`` is resolved by docs/hooks/include.py; a name that is
    # not found would fail only the (slow) strict build, so it is checked here
    from minisinga import notebooks
    include = re.compile(r'^\s*--8<--\s+"(?P<path>[^":]+):(?P<name>[^"]*[^\d"][^"]*)"\s*$')
    problems = []
    for page in PAGES:
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            m = include.match(line)
            if m is None or re.fullmatch(r"\d+:\d+", m["name"]):
                continue
            try:
                notebooks.find_definition(ROOT / m["path"], m["name"])
            except (LookupError, OSError) as exc:
                problems.append(f"{page.relative_to(ROOT)}:{n}: {exc}")
    assert not problems, "includes that name nothing: " + "; ".join(problems)


def test_the_library_carries_no_snippet_markers():
    # the docs include code by its name (docs/hooks/include.py): section markers
    # in the code are gone, and tools/strip_snippet_markers.py removes any that return
    marked = [f"{path.relative_to(ROOT)}:{n}"
              for path in sorted((ROOT / "minisinga").rglob("*"))
              if path.suffix in {".py", ".c", ".h", ".cu", ".cuh"}
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if re.search(r"--8<--\s+\[(start|end):", line)]
    assert not marked, "snippet markers in the library: " + ", ".join(marked)


# -- the derivative table's parser ---------------------------------------------------------
def _load_hook():
    path = DOCS / "hooks" / "derivatives.py"
    spec = importlib.util.spec_from_file_location("docs_hook_derivatives", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


class ToyOperation:
    """Stands in for minisinga.autograd.Operation."""

    def forward(self, *xs):
        raise NotImplementedError


class ToyAffine(ToyOperation):
    r"""Affine map of rows: ``affine(x, w)``.

    Forward: $y = x w$
    Grad x: $\bar{x} = \bar{y} w^{\mathsf T}$
    Grad w: $\bar{w} = x^{\mathsf T}
        \bar{y}$
    Convention: none needed, $|y| < \infty$
    Derivation: ops/linear.md#affine
    """

    def forward(self, x, w):
        return x @ w


def test_parser_reads_a_good_docstring():
    op = hook.parse_op_doc("ToyAffine", ToyAffine.__doc__, hook.forward_inputs(ToyAffine))
    assert op.summary == "Affine map of rows: ``affine(x, w)``."
    assert op.forward == "$y = x w$"
    assert op.grads == [("x", r"$\bar{x} = \bar{y} w^{\mathsf T}$"),
                        ("w", r"$\bar{w} = x^{\mathsf T} \bar{y}$")]  # continuation joined
    assert op.convention == "none needed, $|y| < \\infty$"
    assert (op.page, op.anchor) == ("ops/linear.md", "affine")
    assert hook.forward_inputs(ToyAffine) == ["x", "w"]
    assert hook.forward_inputs(ToyOperation) is None  # *xs: names not checked


def test_parser_accepts_no_gradient():
    doc = """Less than.

    Forward: $y = [a < b]$
    No gradient: a comparison is piecewise constant
    Derivation: ops/compare.md#less
    """
    op = hook.parse_op_doc("Less", doc, ["a", "b"])
    assert op.grads == [] and op.no_gradient.startswith("a comparison")


GOOD = ["Forward: $y = x$", "Grad x: $\\bar{x} = \\bar{y}$", "Derivation: ops/a.md#b"]


@pytest.mark.parametrize("lines, inputs, message", [
    (GOOD[1:], ["x"], "lacks a 'Forward"),
    ([GOOD[0], GOOD[0], *GOOD[1:]], ["x"], "2 'Forward:' lines"),
    ([GOOD[0], GOOD[2]], ["x"], "neither 'Grad"),
    ([*GOOD, "No gradient: why"], ["x"], "both 'Grad' lines and"),
    (GOOD[:2], ["x"], "lacks a 'Derivation"),
    ([*GOOD[:2], "Derivation: ops/a.md"], ["x"], "expected <page>.md#<anchor>"),
    (GOOD, ["a"], "not inputs of forward"),
    ([GOOD[0], "Grad w: $1$", "Grad x: $1$", GOOD[2]], ["x", "w"], "not in forward's input order"),
    ([GOOD[0], "Grad x: $1$", "Grad x: $2$", GOOD[2]], ["x"], "repeated Grad"),
    ([GOOD[0], "Grad x:", GOOD[2]], ["x"], "empty 'Grad x:'"),
])
def test_parser_rejects(lines, inputs, message):
    doc = "Summary.\n\n" + "\n".join(lines)
    with pytest.raises(hook.DerivativeDocError, match=re.escape(message)):
        hook.parse_op_doc("Toy", doc, inputs)


def test_parser_skips_declared_non_operations():
    op = hook.parse_op_doc("Base", "Base.\n\nNot an operation: a base class", None)
    assert op.not_an_op == "a base class"


def test_table_renders_math_and_escapes_html():
    op = hook.parse_op_doc("ToyAffine", ToyAffine.__doc__, ["x", "w"])
    op.module, op.functions = "minisinga.ops.toy", ["affine"]
    table = hook.render_table([op], {"ops/linear.md": "ops/linear.html"})
    assert '<span class="arithmatex">\\(y = x w\\)</span>' in table
    assert "\\(|y| &lt; \\infty\\)" in table           # '<' escaped inside the math
    assert 'href="ops/linear.html#affine"' in table
    assert "<code>affine</code>" in table and "### `minisinga.ops.toy`" in table


def test_every_operation_follows_the_docstring_contract():
    ops = hook.collect_operations()  # raises DerivativeDocError naming each bad operation
    assert ops
