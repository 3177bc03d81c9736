"""The documentation's formulas render in a browser without network access.

A two-page Sphinx project with the site's MathJax set-up (``docs/_ext/offline_mathjax.py``) is
built and opened in headless Chromium (Debian's ``chromium``; the test is skipped where it is
not installed). The page's DOM after MathJax has run must hold one SVG formula per formula of
the source and no raw TeX delimiters. Chromium runs with its background networking off, and
the page can only load what the build wrote next to it.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

CONF = f"""
import sys
sys.path.insert(0, {str(DOCS / "_ext")!r})
extensions = ["sphinx.ext.mathjax", "offline_mathjax"]
"""
# A display formula, an inline one and one that needs a TeX extension loaded on demand
# (\\boldsymbol comes from MathJax's autoload, a second file under _static/mathjax/).
INDEX = r"""
Formulas
========

.. math::

   \frac{1}{2n} \lVert y - Xw - b \rVert_2^2 + \alpha \rho \lVert w \rVert_1

Inline: :math:`\lambda_1 \sum |W|` and :math:`\boldsymbol{w}^\top x`.
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_formulas_render_offline(tmp_path):
    source, html = tmp_path / "source", tmp_path / "html"
    source.mkdir()
    (source / "conf.py").write_text(CONF)
    (source / "index.rst").write_text(INDEX)
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", str(source), str(html)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    page = (html / "index.html").read_text()
    assert 'src="_static/mathjax/tex-mml-svg.js"' in page

    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000",
         "--dump-dom", (html / "index.html").as_uri()],
        capture_output=True, text=True, timeout=300,
    ).stdout
    body = dom.split("<body", 1)[-1]
    containers = re.findall(r"<mjx-container[^>]*>\s*<svg", body)
    assert len(containers) == 3, body[-3000:]
    assert all('jax="SVG"' in container for container in containers)
    assert "merror" not in body  # MathJax's mark of a formula it could not typeset
    for raw in (r"\[", r"\(", r"\frac", r"\boldsymbol"):
        # Typeset formulas keep no TeX source in the visible DOM.
        assert raw not in body, raw
