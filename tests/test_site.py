"""The docs site's build checks, and ``mkdocs serve`` (the README's docs command).

* ``docs/hooks/mathcheck.py`` finds TeX that MathJax will not typeset (a
  ``$$`` block or ``$...$`` that arithmatex did not turn into math) and leaves
  alone math, code and literal dollars.  Needs only the standard library.
* ``docs/hooks/offline.py`` flags a script, stylesheet or image from another
  host, but not the canonical ``<link>`` that the theme writes under
  ``mkdocs serve`` (that link once made every page fail under ``serve``).
* ``mkdocs serve`` starts on a free loopback port and serves a page and the
  search index.  It builds the whole site first, so this test costs one site
  build (about 20 s on a quiet 2-core machine).

The tests that need mkdocs skip where it is not installed (``pip install -e
".[docs]"``); CI installs it and runs this file (.ci/run).
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAVE_MKDOCS = importlib.util.find_spec("mkdocs") is not None
needs_mkdocs = pytest.mark.skipif(not HAVE_MKDOCS, reason=(
    'mkdocs is not installed; install the docs tools with pip install -e ".[docs]"'))


def _load_hook(name: str):
    path = ROOT / "docs" / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mathcheck = _load_hook("mathcheck")


# -- TeX that MathJax will not see -----------------------------------------------------
@pytest.mark.parametrize("html, expected", [
    # what arithmatex leaves behind for a $$ block indented 2 spaces in a list item
    ("<ul><li>item</li></ul>\n<p>$$\n  P = \\max(0, x)\n  $$</p>", "$$ P = \\max(0, x) $$"),
    # an inline formula with a space before its closing $
    ("<p>ONNX Gather, $y = $ <code>np.take(x)</code></p>", "ONNX Gather, $y = $"),
    ("<p>the rate \\(\\eta\\) here</p>", "the rate \\(\\eta\\)"),
    ("<p>a display \\[ x \\] block</p>", "a display \\[ x \\]"),
    # unclosed: reported from the opening delimiter on
    ("<p>see $$ x = 1</p>", "see $$ x = 1"),
])
def test_mathcheck_finds_raw_tex(html, expected):
    assert mathcheck.find_raw_tex(html) == [expected]


@pytest.mark.parametrize("html", [
    '<p>inline <span class="arithmatex">\\(y = x\\)</span> math</p>',
    '<div class="arithmatex">\\[\nP = \\max(0, x)\n\\]</div>',
    "<p><code>$$ in code $x$</code></p>",
    "<pre><code>echo $HOME $PATH\n\\(x\\)</code></pre>",
    "<script>var s = '$a$';</script>",
    "<p>it costs $5</p>",                          # one $ alone opens nothing
    "<p>a literal &#36;x&#36; written as entities</p>",
    '<p><span class="arithmatex">\\(a\\)</span> and <em>$</em></p>',  # one $ in a text node
])
def test_mathcheck_leaves_math_code_and_literal_dollars_alone(html):
    assert mathcheck.find_raw_tex(html) == []


def test_mathcheck_reads_past_unclosed_tags():
    # An unclosed <p> or <li> must not leave the parser thinking it is in code.
    html = "<p>one<p>two <code>$x$</code><li>three $$ raw $$</li>"
    assert mathcheck.find_raw_tex(html) == ["three $$ raw $$"]


# -- nothing from another host ----------------------------------------------------------
@needs_mkdocs
def test_offline_check_flags_remote_loads_but_not_the_canonical_link():
    offline = _load_hook("offline")
    page = ('<link rel="canonical" href="http://127.0.0.1:8000/index.html">'
            '<link rel="alternate" type="application/rss+xml" href="https://x.org/feed">'
            '<link rel="stylesheet" href="https://fonts.googleapis.com/css">'
            '<script src="//cdn.example.org/mathjax.js"></script>'
            '<img src="https://example.org/figure.png" alt="">'
            '<link rel="stylesheet" href="assets/site.css"><script src="local.js"></script>')
    assert offline.remote_loads(page) == [
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css">',
        '<script src="//cdn.example.org/mathjax.js">',
        '<img src="https://example.org/figure.png" alt="">']


# -- mkdocs serve --------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@needs_mkdocs
def test_mkdocs_serve_serves_a_page_and_the_search_index(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    log = tmp_path / "serve.log"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve",
                                 "--dev-addr", f"127.0.0.1:{port}"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300  # it builds the whole site before serving
        status, page = None, b""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"mkdocs serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                status, page = _get(base + "ops/batchnorm.html")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, f"mkdocs serve did not answer in 300 s:\n{log.read_text()}"
        text = page.decode("utf-8")
        assert "<h1" in text and "Batch normalisation" in text, text[:2000]
        # the link that used to make the offline check fail every page under serve
        assert f'<link rel="canonical" href="{base}ops/batchnorm.html">' in text
        assert "ERROR" not in log.read_text(), log.read_text()

        status, index = _get(base + "search/search_index.json")
        assert status == 200
        docs = json.loads(index)["docs"]
        locations = {d["location"] for d in docs}
        assert {"index.html", "ops/batchnorm.html", "derivatives.html"} <= locations, (
            sorted(locations)[:20])
    finally:
        proc.send_signal(signal.SIGINT)  # how a person stops it (Ctrl-C)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
