"""mkdocs hook: ``--8<-- "file:name"`` includes the definition ``name`` from ``file``.

A page shows code by naming it, never by pasting it:

    --8<-- "minisinga/ops/activation.py:ReLU"          the class ReLU
    --8<-- "minisinga/opt.py:Optimizer.__call__"       a method
    --8<-- "minisinga/ops/trig.py:register(sin)"       the statement register(OpInfo("sin", ...))
    --8<-- "minisinga/c/activation.c:relu_forward"     the C function, with its comment
    --8<-- "minisinga/cuda/activation.cu:relu_forward_kernel..relu_forward"
                                                       from one definition to another

Python names are found with ``ast`` (decorators included), C names by matching the
braces of ``void FN(relu_forward)(...) { ... }`` (or a ``#define``); the lookup is
``minisinga.notebooks.find_definition``, so the notebooks show the same text.  The
source files carry no markers.  A line is replaced here, before Markdown runs, by the
definition indented as the line was; whole files (``--8<-- "file"``) and line ranges
(``file:10:20``) are left to pymdownx.snippets.  A name that is not found fails the
build with the page and the line.
"""
from __future__ import annotations

import re
import textwrap

from mkdocs.exceptions import PluginError

from minisinga import notebooks

_INCLUDE = re.compile(r'^(?P<indent>[ \t]*)--8<--\s+"(?P<path>[^":]+):(?P<name>[^"]*[^\d"][^"]*)"\s*$')


def expand(markdown: str, where: str = "page") -> str:
    """``markdown`` with every ``--8<-- "file:name"`` line replaced by that definition."""
    out = []
    for n, line in enumerate(markdown.splitlines(), 1):
        m = _INCLUDE.match(line)
        if m is None or re.fullmatch(r"\d+:\d+", m["name"]):
            out.append(line)
            continue
        path = notebooks.ROOT / m["path"]
        if not path.is_file():
            raise PluginError(f'{where}:{n}: --8<-- "{m["path"]}:{m["name"]}": there is no '
                              f'file {m["path"]}')
        try:
            code = notebooks.find_definition(path, m["name"])
        except LookupError as exc:
            raise PluginError(f"{where}:{n}: {exc}") from None
        out.append(textwrap.indent(code, m["indent"], lambda s: bool(s.strip())))
    return "\n".join(out) + ("\n" if markdown.endswith("\n") else "")


def on_page_markdown(markdown, page, config, files):
    return expand(markdown, page.file.src_uri)
