r"""mkdocs hook: fail the build on TeX that MathJax will not typeset.

``pymdownx.arithmatex`` (generic mode) turns each formula it recognises into an
element of class ``arithmatex`` holding ``\(...\)`` or ``\[...\]``, and MathJax
typesets only those (``docs/javascripts/mathjax.js``).  A formula arithmatex
does *not* recognise stays in the page as raw text, and the strict build is
happy with it.  The usual causes:

* a ``$$`` block inside a list item indented by 2 spaces: Python-Markdown
  wants 4, so with 2 the block is not in the item, and arithmatex never sees
  it as a block;
* an inline ``$...$`` with a space just inside a ``$`` (``$y = $``), which
  arithmatex reads as two dollar signs, not as a formula.

So after each page is rendered, this hook reads its HTML and fails the build
when a text node outside math and outside code (``<code>``, ``<pre>``,
``<kbd>``, ``<script>``, ``<style>``) still holds ``$$``, ``\(``, ``\[`` or a
``$...$`` pair.  A dollar sign meant literally is written ``&#36;``.

The checker (``find_raw_tex``) needs only the standard library, so
``tests/test_site.py`` tests it without mkdocs.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose text MathJax never reads, or that hold math already.
_SKIP_TAGS = {"code", "pre", "kbd", "samp", "script", "style", "textarea"}
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
              "meta", "source", "track", "wbr"}
# A whole $$...$$, \(...\) or \[...\] (or a lone opening one), or a $ followed by a
# non-space and, later in the same text, another $.
_RAW_TEX = re.compile(r"\$\$.*?(?:\$\$|$)|\\\(.*?(?:\\\)|$)|\\\[.*?(?:\\\]|$)|\$[^\s$][^$]*\$",
                      re.DOTALL)


class _TextOutsideMath(HTMLParser):
    """Collects the text nodes that are outside math and outside code."""

    def __init__(self):
        # convert_charrefs=False: "&#36;" (a literal dollar) reaches
        # handle_charref, so it never looks like the start of a formula.
        super().__init__(convert_charrefs=False)
        self.stack: list[tuple[str, bool]] = []  # (tag, inside math or code)
        self.texts: list[str] = []
        self._current: list[str] = []

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def _flush(self):
        if self._current:
            self.texts.append("".join(self._current))
            self._current = []

    def handle_starttag(self, tag, attrs):
        self._flush()
        if tag in _VOID_TAGS:
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = self._skipping() or tag in _SKIP_TAGS or "arithmatex" in classes
        self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self._flush()

    def handle_endtag(self, tag):
        self._flush()
        # Pop back to the matching open tag (tolerates an unclosed <p> or <li>).
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self._current.append(data)

    def handle_entityref(self, name):
        if not self._skipping():
            self._current.append(" ")  # &amp; &lt; ...: never part of a TeX delimiter

    def handle_charref(self, name):
        if not self._skipping():
            self._current.append(" ")  # &#36; is how a page writes a literal dollar


def find_raw_tex(html_text: str) -> list[str]:
    """Snippets of ``html_text`` that hold TeX outside math and outside code.

    Each snippet is the raw TeX (cut after 70 characters) after up to 20
    characters of the text before it, whitespace collapsed.  An empty list means every formula on
    the page is inside an element MathJax typesets.
    """
    parser = _TextOutsideMath()
    parser.feed(html_text)
    parser.close()
    parser._flush()
    found = []
    for text in parser.texts:
        for m in _RAW_TEX.finditer(text):
            before = " ".join(text[max(0, m.start() - 20):m.start()].split())
            tex = " ".join(m.group(0).split())
            if len(tex) > 70:
                tex = tex[:70] + "..."
            found.append(f"{before} {tex}".strip())
    return found


_found: dict[str, list[str]] = {}


def on_pre_build(config):
    _found.clear()


def on_page_content(html_text: str, page, config, files):
    found = find_raw_tex(html_text)
    if found:
        _found[page.file.src_uri] = found
    return html_text


def on_env(env, config, files):
    # Every page is rendered now: report them all at once.
    from mkdocs.exceptions import PluginError

    if _found:
        listing = "".join(f"\n  docs/{page}: " + "\n      ".join(f"«{s}»" for s in found)
                          for page, found in sorted(_found.items()))
        raise PluginError(
            "TeX that MathJax will not typeset; it would show as raw text on the page:"
            f"{listing}\n"
            "A $$ block inside a list item must be indented by 4 spaces (Python-Markdown's "
            "list indentation; with 2 it leaves the list), with a blank line before and "
            "after it; an inline $...$ must have no space just "
            "inside its dollar signs ($y = x$, not $y = $); a literal dollar is &#36;. "
            "(Check: docs/hooks/mathcheck.py)")
    return env
