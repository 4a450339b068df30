"""Install minisinga; cffi compiles the C kernels (see minisinga/_build.py)."""
from setuptools import find_packages, setup

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
    setup_requires=["cffi>=1.15"],
    cffi_modules=["minisinga/_build.py:ffibuilder"],
    install_requires=["numpy>=1.24", "cffi>=1.15"],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "ruff>=0.4"],
        # django-static-mathjax: a dependency-free copy of MathJax 3, served by
        # the site itself (docs/hooks/offline.py) so formulas need no network.
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9", "mkdocstrings[python]>=0.24",
                 "django-static-mathjax>=3.2"],
    },
    zip_safe=False,
)
