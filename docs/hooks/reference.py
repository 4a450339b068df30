"""mkdocs hook: API reference pages for the modules that exist, and optional pages.

Rather than a hand-written page per module (which would break the build if
a module were missing), this hook

* makes one page ``reference/<module>.md`` holding ``::: minisinga.<module>``
  (rendered by mkdocstrings from the docstrings) for each module in
  ``MODULES`` whose file exists, plus every module under ``minisinga/ops/``,
  and adds them to the navigation under "API reference";
* drops from the navigation the pages listed in ``OPTIONAL_PAGES`` while their
  file does not exist yet (a chapter another engineer is writing).  Any other
  missing page still fails the strict build.
"""
from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "minisinga"

#: The modules of SINGA's Python API in reading order, then minisinga's internals.
MODULES = ["tensor", "device", "autograd", "testing", "layer", "layers_conv", "layers_seq",
           "model", "graph", "opt", "initializer", "datasets", "gpu", "sonnx",
           "ctensor", "backend", "dtypes", "viz"]

#: Pages in the nav of mkdocs.yml that may not exist yet on this branch.
OPTIONAL_PAGES = {"performance/matmul-ladder.md"}


def existing_modules() -> list[str]:
    """Dotted names of the documented modules present in the source tree."""
    names = []
    for mod in MODULES:
        if (PACKAGE / f"{mod}.py").is_file() or (PACKAGE / mod / "__init__.py").is_file():
            names.append(f"minisinga.{mod}")
    ops = PACKAGE / "ops"
    if (ops / "__init__.py").is_file():
        for path in sorted(ops.glob("*.py")):
            if not path.name.startswith("_"):
                names.append(f"minisinga.ops.{path.stem}")
    return names


def _page_path(module: str) -> str:
    return "reference/" + module.removeprefix("minisinga.").replace(".", "/") + ".md"


def _prune(nav: list, docs_dir: Path) -> list:
    """The nav without optional pages that are missing, and without empty sections."""
    kept = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), = item.items()
            if isinstance(value, list):
                value = _prune(value, docs_dir)
                if value:
                    kept.append({title: value})
                continue
            if value in OPTIONAL_PAGES and not (docs_dir / value).is_file():
                continue
        elif isinstance(item, str) and item in OPTIONAL_PAGES and not (docs_dir / item).is_file():
            continue
        kept.append(item)
    return kept


def on_config(config):
    nav = _prune(config["nav"] or [], Path(config["docs_dir"]))
    nav.append({"API reference": [{m: _page_path(m)} for m in existing_modules()]})
    config["nav"] = nav
    return config


def on_files(files, config):
    for module in existing_modules():
        content = f"# `{module}`\n\n::: {module}\n"
        files.append(File.generated(config, _page_path(module), content=content))
    return files
