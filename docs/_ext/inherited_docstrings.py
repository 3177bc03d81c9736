"""Cross references in the docstrings that skreg's estimators inherit from scikit-learn.

The API pages show inherited methods (``score``, ``set_output``, ``get_metadata_routing``,
...) with scikit-learn's own docstrings, which point into scikit-learn's user guide with
``:term:`` and ``:ref:``. Glossary terms have a fixed address on scikit-learn's site, so they
become links there. User-guide labels are not in the inventory we generate offline (see
local_inventories.py); they are rendered as plain text rather than guessed. Unresolved
references anywhere else still fail the build.

Their version notes (``.. versionadded:: 1.3``) give scikit-learn's versions, which on a
skreg page read as skreg's: they are attributed ("Added in version scikit-learn 1.3").
"""

import re

from docutils import nodes

GLOSSARY = "https://scikit-learn.org/stable/glossary.html"


def resolve_from_sklearn_docstring(app, env, node, contnode):
    if node.get("refdomain") != "std" or node.get("reftype") not in ("term", "ref"):
        return None
    if "docstring of sklearn." not in (node.source or ""):
        return None
    if node["reftype"] == "ref":
        return contnode
    anchor = nodes.make_id("term-" + node["reftarget"])  # how Sphinx names glossary entries
    reference = nodes.reference("", "", internal=False, refuri=f"{GLOSSARY}#{anchor}")
    reference.append(contnode)
    return reference


VERSION_NOTE = re.compile(r"^(\s*\.\. (?:versionadded|versionchanged|deprecated)::\s*)(\d)")


def _from_sklearn(obj):
    function = getattr(obj, "fget", obj)  # a property's getter holds the docstring
    return (getattr(function, "__module__", None) or "").split(".")[0] == "sklearn"


def attribute_sklearn_versions(app, what, name, obj, options, lines):
    if not name.startswith("skreg.") or not _from_sklearn(obj):
        return
    lines[:] = [VERSION_NOTE.sub(r"\1scikit-learn \2", line) for line in lines]


def setup(app):
    app.connect("missing-reference", resolve_from_sklearn_docstring)
    app.connect("autodoc-process-docstring", attribute_sklearn_versions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
