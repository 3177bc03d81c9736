"""Serve MathJax from the site itself, so that formulas render offline.

``sphinx.ext.mathjax`` loads MathJax from a CDN by default: without network access every
objective of the user guide shows as raw LaTeX. MathJax 3 is installed from PyPI
(``django-static-mathjax``, pinned in requirements-lock.txt; a plain copy of MathJax's ``es5``
distribution whose Python package is named ``mathjax``). This extension points
``mathjax_path`` at the single-file TeX-to-SVG component (SVG output needs no web fonts) and
copies it, with the TeX extensions that its ``autoload`` fetches on demand (``\\boldsymbol``,
``\\cancel``, ...), into ``_static/mathjax`` of the built site.
"""

import shutil
from pathlib import Path

COMPONENT = "tex-mml-svg.js"
# Loaded by the component at run time, relative to its own address.
ON_DEMAND = ("input/tex/extensions",)


def mathjax_es5():
    """Directory of MathJax's ``es5`` distribution in the installed package."""
    try:
        import mathjax
    except ImportError as exc:
        raise RuntimeError(
            "MathJax is not installed: install requirements-lock.txt (make install), which "
            "pins django-static-mathjax"
        ) from exc
    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def set_path(app, config):
    mathjax_es5()  # fail early, with the install hint, rather than after the whole build
    # A relative mathjax_path is resolved against _static/ by sphinx.ext.mathjax.
    config.mathjax_path = f"mathjax/{COMPONENT}"


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_es5()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / COMPONENT, target / COMPONENT)
    for folder in ON_DEMAND:
        shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)
    shutil.copy2(source.parent / "LICENSE", target / "LICENSE")


def setup(app):
    app.connect("config-inited", set_path)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
