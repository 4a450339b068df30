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

2. Fail the build if any page would load a script, a stylesheet, a font or an
   image from another host (a CDN, Google Fonts): those would silently break
   offline.  A ``<link>`` that only names an address and loads nothing is
   allowed: ``mkdocs serve`` sets ``site_url`` to its own address, and the theme
   then writes ``<link rel="canonical" href="http://127.0.0.1:8000/...">``.
"""
from __future__ import annotations

from html.parser import HTMLParser
from importlib.util import find_spec
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

DEST = "assets/mathjax"
MATHJAX_SCRIPT = "tex-chtml-full.js"
FONT_DIR = "output/chtml/fonts/woff-v2"

# The attribute through which each tag makes the browser fetch something.
_FETCHING = {"script": "src", "link": "href", "img": "src", "source": "src",
             "iframe": "src", "video": "src", "audio": "src", "embed": "src"}
# <link rel=...> values that name an address without the browser fetching it.
_LINK_NAMES_ONLY = {"canonical", "alternate", "prev", "next", "author", "license",
                    "help", "bookmark", "me"}


class _RemoteLoads(HTMLParser):
    """Collects the tags that would fetch from another host (http:, https: or //host)."""

    def __init__(self):
        super().__init__()
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        url = attrs.get(_FETCHING.get(tag, ""))
        if not url or not url.lower().startswith(("http:", "https:", "//")):
            return
        rels = set((attrs.get("rel") or "").lower().split())
        if tag == "link" and rels and rels <= _LINK_NAMES_ONLY:
            return  # names the page's address; nothing is loaded
        self.remote.append(self.get_starttag_text())


def remote_loads(html_text: str) -> list[str]:
    """The tags in ``html_text`` that would load something from another host."""
    parser = _RemoteLoads()
    parser.feed(html_text)
    parser.close()
    return parser.remote


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
    remote = remote_loads(output)
    if remote:
        raise PluginError(
            f"{page.file.src_uri}: the page loads from another host, which breaks "
            f"the offline site: {remote[:3]}")
    return output
