"""Install minisinga; cffi compiles the C kernels (see minisinga/_build.py) and,
when nvcc is found, the CUDA kernels into a second module (minisinga/_build_cuda.py)."""
import importlib.util
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext


def _load_cuda_build():
    """minisinga/_build_cuda.py, loaded by path (the package is not built yet)."""
    path = Path(__file__).resolve().parent / "minisinga" / "_build_cuda.py"
    spec = importlib.util.spec_from_file_location("_minisinga_build_cuda", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_cuda_build = _load_cuda_build()
# nvcc's path, or None (MINISINGA_CUDA=0 or no nvcc: one message says which).
_NVCC = _cuda_build.nvcc_or_none(announce=True)


class BuildExt(build_ext):
    """build_ext that runs nvcc over minisinga/cuda just before cffi writes and
    links minisinga._cuda (cffi calls pre_run for each of its modules)."""

    def pre_run(self, ext, ffi):
        if ext.name == "minisinga._cuda":
            _cuda_build.compile_objects(_NVCC)


setup(
    name="minisinga",
    version="0.1.0",
    description="A small, readable re-build of Apache SINGA's Python training API "
                "on handwritten C and CUDA kernels.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["minisinga", "minisinga.*"]),
    package_data={"minisinga": ["c/*.c", "c/*.h", "cuda/*.cu", "cuda/*.h",
                                "datasets/*.npz", "datasets/*.md"]},
    cffi_modules=["minisinga/_build.py:ffibuilder"]
    + (["minisinga/_build_cuda.py:ffibuilder"] if _NVCC else []),
    cmdclass={"build_ext": BuildExt},
    install_requires=["numpy>=1.24", "cffi>=1.15"],
    extras_require={
        # pytest-timeout: pyproject.toml gives every test a time limit, so a hang
        # fails that one test instead of stalling the run
        "test": ["pytest>=7", "hypothesis>=6", "ruff>=0.4", "pytest-timeout>=2.1"],
        # the example trainings: a progress bar and the loss/accuracy plot
        "examples": ["tqdm>=4", "matplotlib>=3.7"],
        # django-static-mathjax: a dependency-free copy of MathJax 3, served by
        # the site itself (docs/hooks/offline.py) so formulas need no network.
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9", "mkdocstrings[python]>=0.24",
                 "django-static-mathjax>=3.2"],
    },
    zip_safe=False,
)
