"""mkdocs hook: the API reference pages, one per module.

Rather than a hand-written page per module, this hook makes one page
``reference/<module>.md`` holding ``::: minisinga.<module>`` (rendered by mkdocstrings
from the docstrings) for each module in ``MODULES``, plus every module under
``minisinga/ops/``, and adds them to the navigation under "API reference".
"""
from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "minisinga"

#: The modules of SINGA's Python API in reading order, then minisinga's internals.
MODULES = ["tensor", "device", "autograd", "testing", "layer", "layers_conv", "layers_seq",
           "model", "graph", "profiling", "opt", "initializer", "datasets", "gpu", "sonnx",
           "ctensor", "backend", "dtypes", "viz"]


def documented_modules() -> list[str]:
    """Dotted names of the documented modules: ``MODULES``, then the public op modules."""
    names = [f"minisinga.{mod}" for mod in MODULES]
    for path in sorted((PACKAGE / "ops").glob("*.py")):
        if not path.name.startswith("_"):
            names.append(f"minisinga.ops.{path.stem}")
    return names


def _page_path(module: str) -> str:
    return "reference/" + module.removeprefix("minisinga.").replace(".", "/") + ".md"


def on_config(config):
    config["nav"].append({"API reference": [{m: _page_path(m)} for m in documented_modules()]})
    return config


def on_files(files, config):
    for module in documented_modules():
        content = f"# `{module}`\n\n::: {module}\n"
        files.append(File.generated(config, _page_path(module), content=content))
    return files
