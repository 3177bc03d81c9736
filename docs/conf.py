"""Sphinx configuration of skreg's documentation site.

Build it with ``make docs``, which calls ``docs/build.py``: it runs ``sphinx-build -W
--keep-going`` so that any warning fails the build.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import local_inventories  # noqa: E402

import skreg  # noqa: E402
from skreg.utils._doc_link import DOC_URL  # noqa: E402

project = "skreg"
author = "the skreg developers"
copyright = "the skreg developers"
release = skreg.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",  # [source] links to the highlighted code, inside the site
    "myst_parser",  # CHANGELOG.md as the release notes page
    "sphinxarg.ext",  # the command line's page, from its argparse parser
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "api_reference",  # docs/_ext: writes api/index.rst from skreg.__all__
    "inherited_docstrings",  # docs/_ext: scikit-learn's :term: and :ref: in inherited methods
    "offline_mathjax",  # docs/_ext: MathJax served from _static/, no CDN
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store"]
root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
default_role = "literal"

# -- API pages ------------------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"  # the numpydoc sections carry the types
# viewcode's [source] pages are written for skreg's modules only (inherited scikit-learn
# methods have no page): the site shows the code of the version it documents, offline.
viewcode_follow_imported_members = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Cross references to the projects skreg builds on ----------------------------------------
# No network at build time (CI and developers' machines build offline): intersphinx cannot
# download each project's objects.inv. docs/_ext/local_inventories.py writes a small inventory
# per project instead, from the public names of the installed packages and the URL patterns of
# each project's documentation (see that module for the patterns). intersphinx reads the local
# file and links to the real site: (site root, local inventory). A name that the generated
# inventory does not list stays plain code; nothing is fetched.
INVENTORIES = Path(os.environ.get("SKREG_DOCS_INVENTORIES", DOCS / "_build" / "inventories"))
intersphinx_mapping = local_inventories.write_all(INVENTORIES)
intersphinx_timeout = 1

# -- Gallery ------------------------------------------------------------------------------------
# ``make docs`` runs every example at its full settings, so the figures show what the text
# says (each example asserts it). SKREG_EXAMPLE_QUICK=1 (``docs/build.py --quick``, what the
# test suite runs) uses small settings: the same code, fewer epochs and grid points.
QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("skreg",),
    "backreferences_dir": "api/generated/backreferences",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "reset_modules": ("matplotlib",),
    "min_reported_time": 1,
    # The execution-times pages load jQuery, DataTables and Bootstrap from CDNs: not written.
    "write_computation_times": False,
}

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skreg {release}"
html_baseurl = DOC_URL
html_static_path = []
html_show_sourcelink = False
# Pages without siblings need no section navigation.
html_sidebars = {"getting_started": [], "benchmarks": []}
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,  # the rest under "More": the search box stays on the bar
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
if QUICK:
    html_theme_options["announcement"] = (
        "This build ran the examples in quick mode (few epochs, small grids): their figures "
        "show the code at work, not its final numbers. <code>make docs</code> builds "
        "them with the full settings."
    )
