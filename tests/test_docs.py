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
import skreg.study
from skreg.utils._doc_link import DOC_ROOT, DOC_URL, doc_version
from skreg.utils.discovery import all_estimators

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
DOC_TOOLS = ["sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser",
             "sphinxarg", "mathjax"]


def public_objects():
    """``{qualified name: object}``: skreg.__all__, skreg.nn and skreg.study's own names."""
    objects = {f"skreg.{name}": getattr(skreg, name) for name in skreg.__all__}
    objects.update({f"skreg.nn.{name}": getattr(skreg.nn, name) for name in skreg.nn.__all__})
    objects.update({f"skreg.study.{name}": getattr(skreg.study, name)
                    for name in skreg.study.__all__ if name not in skreg.__all__})
    return objects


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
                 "auto_examples/index", "cli", "release_notes"]:
        assert (html / f"{page}.html").is_file(), page

    # One API page per public object, including names added to skreg.__all__ later.
    api_index = (html / "api" / "index.html").read_text()
    for qualname in public_objects():
        page = html / "api" / "generated" / f"{qualname}.html"
        assert page.is_file(), qualname
        assert f'href="generated/{qualname}.html"' in api_index, qualname
        text = page.read_text()
        # Cross-links as on scikit-learn's site: the user guide, the source, the examples.
        assert re.search(r'Read more in the <a class="reference internal" href="[^"]*'
                         r'user_guide/[a-z_]+\.html#[a-z-]+"', text), qualname
        assert 'class="viewcode-link"' in text, qualname
        assert "Examples using" in text, qualname
        # scikit-learn's version notes in inherited docstrings say whose version they give.
        assert not re.search(r"(Added|Changed) in version \d", text), qualname

    quantizer = (html / "api" / "generated" / "skreg.VectorQuantizer.html").read_text()
    assert "Added in scikit-learn 1.4" in quantizer  # set_output's "polars" note

    # The release notes are CHANGELOG.md; the command line's page lists the parser's options.
    assert "The first release." in (html / "release_notes.html").read_text()
    cli = (html / "cli.html").read_text()
    from skreg.study._cli import _parser

    for action in _parser()._actions:
        for option in set(action.option_strings) - {"-h", "--help"}:
            assert option in cli, option

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


def test_every_public_docstring_links_to_the_user_guide():
    # As on scikit-learn's site: right after the summary, a link to the narrative docs (the
    # docs build checks that the label exists).
    for qualname, obj in public_objects().items():
        paragraphs = (obj.__doc__ or "").split("\n\n")
        assert len(paragraphs) > 1, qualname
        assert re.fullmatch(r"\s*Read more in the :ref:`User Guide <[a-z-]+>`\.\s*",
                            paragraphs[1]), (qualname, paragraphs[1])


def test_doc_links_name_the_version():
    # The HTML repr of a release links to that release's docs, a development version's to
    # the main branch's build ("latest").
    assert doc_version("0.1.0") == "0.1.0"
    assert doc_version("1.2.0rc1") == "1.2.0rc1"
    assert doc_version("0.2.0.dev0") == "latest"
    assert doc_version("0.1.0+g1234abc") == "latest"
    assert DOC_URL == f"{DOC_ROOT}{doc_version(skreg.__version__)}/"
    link = skreg.ElasticNetRegressor()._get_doc_link()
    assert link == f"{DOC_URL}api/generated/skreg.ElasticNetRegressor.html"


def test_read_the_docs_builds_the_same_site():
    # The published site must be the one `make docs` builds and this suite tests: the locked
    # environment, the same torch, docs/build.py at full settings, its html/ published.
    import yaml

    config = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    commands = config["build"]["commands"]
    lock = (ROOT / "requirements-lock.txt").read_text().splitlines()
    torch_pin = next(line for line in lock if line.startswith("torch=="))
    assert any(torch_pin in command and "/whl/cpu" in command for command in commands)
    assert any("pip install -r requirements-lock.txt" in command for command in commands)
    build = [command for command in commands if "docs/build.py" in command]
    assert len(build) == 1 and "--quick" not in build[0]
    out = build[0].split("--out")[1].split()[0]
    assert any(f"{out}/html $READTHEDOCS_OUTPUT/html" in command for command in commands)
