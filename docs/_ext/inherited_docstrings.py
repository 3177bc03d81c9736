"""Cross references in the docstrings that skreg's estimators inherit from scikit-learn.

The API pages show inherited methods (``score``, ``set_output``, ``get_metadata_routing``,
...) with scikit-learn's own docstrings, which point into scikit-learn's user guide with
``:term:`` and ``:ref:``. Glossary terms have a fixed address on scikit-learn's site, so they
become links there. User-guide labels are not in the inventory we generate offline (see
local_inventories.py); they are rendered as plain text rather than guessed. Unresolved
references anywhere else still fail the build.
"""

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


def setup(app):
    app.connect("missing-reference", resolve_from_sklearn_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
