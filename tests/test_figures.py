"""The site's figures: the hook draws them all, and every chapter shows at least one.

docs/hooks/figures.py draws each figure from the code as the site builds; this
runs its generator directly (a few seconds, no mkdocs build) and checks the
chapters' <figure> blocks against what it produced.
"""
from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytest.importorskip("matplotlib", reason="the figures need matplotlib (the docs extra)")
yaml = pytest.importorskip("yaml", reason="reading mkdocs.yml's nav needs PyYAML (the docs extra)")

_FIGURE = re.compile(r'<figure markdown>\n!\[(?P<alt>[^\]]*)\]\((?P<src>[^)]+)\)\n'
                     r'<figcaption>(?P<caption>.+?)</figcaption>\n</figure>')


def _hook():
    spec = importlib.util.spec_from_file_location("figures_hook", DOCS / "hooks" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> dict[str, str]:
    return _hook().generate()


def _nav_pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages += _nav_pages(value)
        else:
            pages.append(value)
    return pages


def _chapters() -> list[str]:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    return _nav_pages(config["nav"])


def test_the_hook_draws_at_least_20_valid_svgs(figures):
    assert len(figures) >= 20
    for name, svg in figures.items():
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg"), name
        texts = [t.text for t in root.iter() if t.tag.endswith("text") and t.text]
        assert texts, f"{name}: a figure with no text at all"


def test_graph_figures_show_the_real_graph(figures):
    toy = ET.fromstring(figures["autograd-toy"])
    texts = [t.text for t in toy.iter() if t.tag.endswith("text")]
    assert texts.count("Add") == 2 and "|grad| = 4" in texts
    mlp = [t.text for t in ET.fromstring(figures["seed-mlp-graph"]).iter()
           if t.tag.endswith("text")]
    for op in ("Matmul", "AddBias", "ReLU", "SoftMaxCrossEntropy"):
        assert op in mlp
    assert mlp.count("parameter") == 4


def test_every_chapter_has_a_figure_with_alt_text_and_caption(figures):
    chapters = _chapters()
    assert len(chapters) >= 20
    shown = set()
    for page in chapters:
        text = (DOCS / page).read_text()
        blocks = list(_FIGURE.finditer(text))
        assert blocks, f"docs/{page} shows no figure"
        assert text.count("<figure") == len(blocks), f"docs/{page}: a malformed <figure> block"
        for m in blocks:
            src = (DOCS / page).parent / m["src"]
            name = src.resolve().relative_to(DOCS.resolve()).as_posix()
            assert re.fullmatch(r"figures/[\w-]+\.svg", name), name
            assert name[len("figures/"):-4] in figures, f"docs/{page}: {name} is not drawn"
            assert len(m["alt"]) > 30, f"docs/{page}: {name} needs real alt text"
            assert len(m["caption"]) > 60, f"docs/{page}: {name} needs a caption"
            shown.add(name[len("figures/"):-4])
    assert shown == set(figures), f"drawn but shown nowhere: {set(figures) - shown}"


def test_charts_read_the_chapters_own_tables():
    hook = _hook()
    rows = hook._table("performance/matmul-ladder.md", "| step | $n = 512$")
    assert [r[0][0] for r in rows] == ["1", "2", "3", "4", "5", "6", "6"]
    bench = hook._table("performance/benchmarks.md", "| workload | thr | minisinga | graph")
    assert hook._ms("235 µs") == pytest.approx(0.235)
    assert all(hook._ms(r[2]) for r in bench)        # every row has a minisinga time
    with pytest.raises(RuntimeError, match="no table"):
        hook._table("performance/benchmarks.md", "| no such header")
