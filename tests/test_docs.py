"""The documentation site builds with warnings as errors, with every page a user looks for.

One build (``docs/build.py --quick``, examples in quick mode, into a temporary directory) and every
check on its output in a single test, so that pytest-xdist never builds the site twice.
Sphinx and its extensions are pinned in requirements-lock.txt: a missing one fails this test.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import skreg
import skreg.nn
from skreg.utils._doc_link import DOC_URL
from skreg.utils.discovery import all_estimators

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
DOC_TOOLS = ["sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"]


def test_docs_build(tmp_path):
    missing = [name for name in DOC_TOOLS if importlib.util.find_spec(name) is None]
    assert not missing, f"{missing} not installed: install requirements-lock.txt (make install)"

    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    html = tmp_path / "html"

    for page in ["index", "getting_started", "user_guide/index", "user_guide/linear",
                 "user_guide/neural", "user_guide/quantization", "benchmarks", "api/index",
                 "auto_examples/index"]:
        assert (html / f"{page}.html").is_file(), page

    # One API page per public object, including names added to skreg.__all__ later.
    public = [f"skreg.{name}" for name in skreg.__all__]
    public += [f"skreg.nn.{name}" for name in skreg.nn.__all__]
    api_index = (html / "api" / "index.html").read_text()
    for qualname in public:
        assert (html / "api" / "generated" / f"{qualname}.html").is_file(), qualname
        assert f'href="generated/{qualname}.html"' in api_index, qualname

    # Every example executed, with its figures.
    for script in EXAMPLES:
        assert (html / "auto_examples" / f"{script.stem}.html").is_file(), script.name
        assert (html / "_images" / f"sphx_glr_{script.stem}_001.png").is_file(), script.name

    # The HTML repr's "?" link is the page this build wrote for the estimator.
    for name, estimator in all_estimators():
        link = estimator()._get_doc_link()
        assert link.startswith(DOC_URL), (
            f"{name} links to {link!r}: give it skreg.utils._doc_link.DocLinkMixin as a base"
        )
        assert (html / link[len(DOC_URL):]).is_file(), (name, link)

    # Read offline: no page loads a script or a style sheet from another host (MathJax is
    # served from _static/, the gallery's execution-times pages with their CDNs are not built).
    # The one absolute <link> allowed is the page's canonical address on the docs' own site.
    external = re.compile(r'<(script|link)\b[^>]*?\b(src|href)="(https?:)?//[^"]*"[^>]*>')
    pages = sorted(html.rglob("*.html"))
    for path in pages:
        for match in external.finditer(path.read_text()):
            tag = match.group(0)
            assert 'rel="canonical"' in tag and f'href="{DOC_URL}' in tag, (path, tag)
    assert not any(path.stem == "sg_execution_times" for path in pages)
    mathjax = '<script defer="defer" src="../_static/mathjax/tex-mml-svg.js"></script>'
    assert mathjax in (html / "user_guide" / "linear.html").read_text()
    assert (html / "_static" / "mathjax" / "tex-mml-svg.js").is_file()

    # Intersphinx resolved against the locally generated inventories, to the real sites.
    page = (html / "api" / "generated" / "skreg.ElasticNetRegressor.html").read_text()
    ridge = "https://scikit-learn.org/stable/modules/generated/sklearn.linear_model.Ridge.html"
    assert re.search(f'href="{re.escape(ridge)}#sklearn.linear_model.Ridge"', page)
    guide = (html / "user_guide" / "neural.html").read_text()
    assert "https://docs.pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html" in guide
