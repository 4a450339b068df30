r"""mkdocs hook: the derivative table, generated from the operations' docstrings.

Each formula lives in one place, the docstring of its Operation, and the table
in ``docs/derivatives.md`` is rebuilt from them on every build.  The contract
(every ``Operation`` subclass in ``minisinga.autograd`` or ``minisinga.ops.*``)::

    class ReLU(Operation):
        r'''Rectified linear unit, elementwise: ``relu(x)``.

        Forward: $y = \max(0, x)$
        Grad x: $\bar{x} = \bar{y} \cdot [x > 0]$
        Convention: $\mathrm{relu}'(0) = 0$
        Derivation: ops/activations.md#relu
        '''

* exactly one ``Forward:`` line;
* one ``Grad <input>:`` line per differentiable input, named as in
  ``forward``'s parameters and in their order, or else one
  ``No gradient: <reason>`` line;
* at most one ``Convention:`` line;
* exactly one ``Derivation: <page>.md#<anchor>`` line (a page of docs/); the
  page must exist and contain that anchor.

A line indented under one of these continues it.  A class that is not an
operation (a helper base class) says so with ``Not an operation: <reason>``.

The build fails (``PluginError``) when any operation breaks the contract.
"""
from __future__ import annotations

import html
import importlib
import inspect
import pkgutil
import posixpath
import re
from dataclasses import dataclass, field

# mkdocs itself is imported inside the event functions only, so that
# tests/test_docs.py can test the parser with just the test dependencies.

PAGE = "derivatives.md"
MARKER = "<!-- derivative-table -->"

_KEY = re.compile(r"^(Forward|Grad\s+(?P<input>\w+)|Convention|No gradient|Derivation"
                  r"|Not an operation):\s*(?P<value>.*)$")


class DerivativeDocError(ValueError):
    """An operation's docstring breaks the derivative-table contract."""


@dataclass
class OpDoc:
    """What one operation's docstring says about its derivatives."""

    name: str
    summary: str = ""
    forward: str = ""
    grads: list[tuple[str, str]] = field(default_factory=list)
    convention: str = ""
    no_gradient: str = ""
    derivation: str = ""  # "ops/activations.md#relu"
    not_an_op: str = ""
    module: str = ""
    functions: list[str] = field(default_factory=list)

    @property
    def page(self) -> str:
        return self.derivation.partition("#")[0]

    @property
    def anchor(self) -> str:
        return self.derivation.partition("#")[2]


def parse_op_doc(name: str, doc: str | None, input_names: list[str] | None = None) -> OpDoc:
    """Read the Forward / Grad / Convention / No gradient / Derivation lines of ``doc``.

    ``input_names`` are the parameters of ``forward`` (None when it takes
    ``*xs``); Grad lines must name them, in that order.  Raises
    ``DerivativeDocError`` listing every problem found.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    op = OpDoc(name=name, summary=lines[0].strip() if lines else "")
    entries: list[list[str]] = []  # [key, input, value]
    for line in lines:
        m = _KEY.match(line)
        if m:
            key = m.group(1).split()[0] if m.group("input") else m.group(1)
            entries.append([key, m.group("input") or "", m.group("value").strip()])
        elif entries and line[:1].isspace() and line.strip():
            entries[-1][2] += " " + line.strip()  # continuation of the line above
    problems = []

    def single(key: str) -> str:
        values = [v for k, _, v in entries if k == key]
        if len(values) > 1:
            problems.append(f"has {len(values)} '{key}:' lines (expected at most one)")
        return values[0] if values else ""

    op.not_an_op = single("Not an operation")
    if op.not_an_op:
        return op
    op.forward = single("Forward")
    op.convention = single("Convention")
    op.no_gradient = single("No gradient")
    op.derivation = single("Derivation")
    op.grads = [(inp, v) for k, inp, v in entries if k == "Grad"]

    if not op.forward:
        problems.append("lacks a 'Forward: $y = ...$' line")
    if not op.grads and not op.no_gradient:
        problems.append("has neither 'Grad <input>: ...' lines nor a 'No gradient: <reason>' line")
    if op.grads and op.no_gradient:
        problems.append("has both 'Grad' lines and a 'No gradient' line")
    if not op.derivation:
        problems.append("lacks a 'Derivation: <page>.md#<anchor>' line")
    elif not re.fullmatch(r"[\w./-]+\.md#[\w-]+", op.derivation):
        problems.append(f"has 'Derivation: {op.derivation}'; expected <page>.md#<anchor>")
    for key, inp, value in entries:
        if not value:
            problems.append(f"has an empty '{key}{' ' + inp if inp else ''}:' line")
    seen = [inp for inp, _ in op.grads]
    if len(set(seen)) != len(seen):
        problems.append(f"has repeated Grad lines: {seen}")
    if input_names is not None:
        unknown = [inp for inp in seen if inp not in input_names]
        if unknown:
            problems.append(f"has Grad lines for {unknown}, which are not inputs of "
                            f"forward{tuple(input_names)}")
        elif seen != [n for n in input_names if n in seen]:
            problems.append(f"lists Grad lines in the order {seen}, not in forward's "
                            f"input order {input_names}")
    if problems:
        raise DerivativeDocError(f"{name} " + "; ".join(problems))
    return op


def forward_inputs(cls) -> list[str] | None:
    """The input names of ``cls.forward`` (None if it takes ``*args``)."""
    try:
        params = list(inspect.signature(cls.forward).parameters.values())[1:]  # drop self
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return [p.name for p in params]


def _all_subclasses(cls) -> list[type]:
    found, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        if sub not in found:
            found.append(sub)
            todo.extend(sub.__subclasses__())
    return found


def _wrapper_functions(cls, modules) -> list[str]:
    """Lowercase functions (``relu``) whose source constructs ``cls`` (``ReLU(``)."""
    call = re.compile(rf"\b{re.escape(cls.__name__)}\s*\(")
    names = []
    for module in modules:
        for fname, fn in vars(module).items():
            if (not inspect.isfunction(fn) or fname.startswith("__") or fname != fname.lower()
                    or not getattr(fn, "__module__", "").startswith("minisinga")):
                continue
            try:
                source = inspect.getsource(fn)
            except (OSError, TypeError):
                continue
            if call.search(source) and fname not in names:
                names.append(fname)
    return names


def collect_operations() -> list[OpDoc]:
    """Every Operation in minisinga.autograd and minisinga.ops.*, parsed.

    Raises DerivativeDocError listing every operation that breaks the contract.
    """
    autograd = importlib.import_module("minisinga.autograd")
    ops = importlib.import_module("minisinga.ops")
    modules = [autograd, ops]
    for info in pkgutil.walk_packages(ops.__path__, "minisinga.ops."):
        modules.append(importlib.import_module(info.name))

    docs, problems = [], []
    for cls in _all_subclasses(autograd.Operation):
        if not (cls.__module__ == "minisinga.autograd" or cls.__module__.startswith("minisinga.ops")):
            continue  # an operation defined by a user or a test, not by minisinga
        if cls.__name__.startswith("_"):
            continue  # a private helper base class (_Broadcasting, _View, ...), never called
        try:
            op = parse_op_doc(cls.__name__, cls.__doc__, forward_inputs(cls))
        except DerivativeDocError as exc:
            problems.append(f"{cls.__module__}.{exc}")
            continue
        if op.not_an_op:
            continue
        op.module = cls.__module__
        op.functions = _wrapper_functions(cls, modules)
        docs.append((cls.__module__, inspect.getsourcelines(cls)[1], op))
    if problems:
        raise DerivativeDocError("operation docstrings break the derivative-table contract "
                                 "(see docs/hooks/derivatives.py):\n  " + "\n  ".join(problems))
    return [op for _, _, op in sorted(docs, key=lambda d: (d[0], d[1]))]


# -- rendering ---------------------------------------------------------------------
_MATH = re.compile(r"\$(.+?)\$")
_CODE = re.compile(r"``(.+?)``|`(.+?)`")


def render_text(text: str) -> str:
    """Docstring text to HTML: $TeX$ becomes a MathJax span, ``code`` becomes <code>."""
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(_render_plain(text[pos:m.start()]))
        out.append(f'<span class="arithmatex">\\({html.escape(m.group(1))}\\)</span>')
        pos = m.end()
    out.append(_render_plain(text[pos:]))
    return "".join(out)


def _render_plain(text: str) -> str:
    text = html.escape(text)
    return _CODE.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", text)


def render_table(ops: list[OpDoc], urls: dict[str, str] | None = None) -> str:
    """The Markdown (headings) + HTML (tables) that replaces MARKER.

    ``urls`` maps a Derivation page (``ops/activations.md``) to its link from
    the table's page (``ops/activations.html``); the raw HTML of the table is
    not rewritten by mkdocs the way Markdown links are.
    """
    if not ops:
        return "No operations are defined yet.\n"
    urls = urls or {}
    parts = [f"{len(ops)} operations.\n"]
    module = None
    for op in ops:
        if op.module != module:
            if module is not None:
                parts.append("</tbody></table></div>\n")
            module = op.module
            parts.append(f"\n### `{module}`\n\n<div class=\"derivatives\"><table>"
                         "<thead><tr><th>operation and its derivation</th><th>forward</th>"
                         "<th>gradients</th><th>convention</th></tr></thead><tbody>\n")
        grads = "<br>".join(render_text(g) for _, g in op.grads) if op.grads else (
            "<em>no gradient:</em> " + render_text(op.no_gradient))
        href = urls.get(op.page, op.page) + "#" + op.anchor
        functions = ", ".join(f"<code>{html.escape(f)}</code>" for f in op.functions) or "&mdash;"
        # First column: the class, linked to its derivation, and the functions
        # that create it; so the link is on screen however wide the formulas are.
        parts.append(
            f'<tr id="op-{html.escape(op.name.lower())}">'
            f'<td><a href="{html.escape(href)}" title="derivation: {html.escape(op.derivation)}">'
            f"<code>{html.escape(op.name)}</code></a>"
            f'<br><span class="derivatives-functions">{functions}</span></td>'
            f"<td>{render_text(op.forward)}</td><td>{grads}</td>"
            f"<td>{render_text(op.convention) if op.convention else ''}</td></tr>\n")
    parts.append("</tbody></table></div>\n")
    return "".join(parts)


# -- mkdocs events -------------------------------------------------------------------
_state: dict = {}


def on_files(files, config):
    from mkdocs.exceptions import PluginError

    _state.clear()
    try:
        _state["ops"] = collect_operations()
    except DerivativeDocError as exc:
        raise PluginError(str(exc)) from None
    _state["files"] = files
    _state["ids"] = {}
    return files


def on_page_markdown(markdown: str, page, config, files):
    from mkdocs.exceptions import PluginError
    from mkdocs.utils import get_relative_url

    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"docs/{PAGE} must contain the line {MARKER}")
    urls = {}
    for op in _state["ops"] or []:
        target = files.get_file_from_path(op.page)
        if target is not None:
            urls[op.page] = get_relative_url(target.url, page.url)
    return markdown.replace(MARKER, render_table(_state["ops"], urls))


def on_page_content(html_text: str, page, config, files):
    _state["ids"][page.file.src_uri] = set(re.findall(r'\bid="([^"]+)"', html_text))
    return html_text


def on_env(env, config, files):
    from mkdocs.exceptions import PluginError

    # Every page's HTML exists now; check each Derivation link lands on an anchor.
    problems = []
    for op in _state.get("ops") or []:
        ids = _state["ids"].get(posixpath.normpath(op.page))
        if ids is None:
            problems.append(f"{op.module}.{op.name}: Derivation page docs/{op.page} does not exist")
        elif op.anchor not in ids:
            problems.append(f"{op.module}.{op.name}: docs/{op.page} has no anchor #{op.anchor} "
                            f"(a heading with that id, or {{#{op.anchor}}} after a heading)")
    if problems:
        raise PluginError("derivative table: broken Derivation links:\n  " + "\n  ".join(problems))
    return env
