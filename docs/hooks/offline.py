"""mkdocs hook: the site works with no network.

Two jobs:

1. Serve MathJax from the site itself.  The PyPI package ``django-static-mathjax``
   (no dependencies; it only ships MathJax 3's files and imports as ``mathjax``)
   holds a copy of MathJax 3.2.2.  We add its single-file TeX build
   (``tex-chtml-full.js``, every TeX extension inside, nothing loaded lazily) and
   its web fonts to the build under ``assets/mathjax/``; ``mkdocs.yml`` loads
   them with ``extra_javascript``.  The formulas themselves are written as
   ``$...$`` / ``$$...$$`` and wrapped by ``pymdownx.arithmatex`` (generic mode)
   into ``<span class="arithmatex">\\(...\\)</span>`` for MathJax to typeset.

2. Fail the build if any page would load a script, a stylesheet or a font from
   another host (a CDN, Google Fonts): those would silently break offline.
"""
from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

DEST = "assets/mathjax"
MATHJAX_SCRIPT = "tex-chtml-full.js"
FONT_DIR = "output/chtml/fonts/woff-v2"

# <script src="http..."> or <link ... href="http..."> (or protocol-relative //host)
_REMOTE = re.compile(r'<(script|link)\b[^>]*\b(src|href)="(https?:)?//[^"]*"', re.IGNORECASE)


def mathjax_dir() -> Path:
    """The es5/ folder of the MathJax copy that django-static-mathjax installs."""
    spec = find_spec("mathjax")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        es5 = Path(root) / "static" / "mathjax" / "es5"
        if (es5 / MATHJAX_SCRIPT).is_file():
            return es5
    raise PluginError(
        "MathJax not found: the docs serve MathJax from the PyPI package "
        "django-static-mathjax (import name `mathjax`). Install the docs "
        "dependencies with: pip install -e \".[docs]\"")


def on_files(files, config):
    es5 = mathjax_dir()
    sources = [es5 / MATHJAX_SCRIPT, es5.parent / "LICENSE"]
    sources += sorted((es5 / FONT_DIR).glob("*.woff"))
    for path in sources:
        rel = "LICENSE" if path.name == "LICENSE" else path.relative_to(es5).as_posix()
        files.append(File.generated(config, f"{DEST}/{rel}", abs_src_path=str(path)))
    return files


def on_post_page(output: str, page, config) -> str:
    remote = [m.group(0) for m in _REMOTE.finditer(output)]
    if remote:
        raise PluginError(
            f"{page.file.src_uri}: the page loads from another host, which breaks "
            f"the offline site: {remote[:3]}")
    return output
