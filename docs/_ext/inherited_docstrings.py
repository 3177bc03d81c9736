"""Cross references in the docstrings that skreg's estimators inherit from scikit-learn.

The API pages show inherited methods (``score``, ``set_output``, ``get_metadata_routing``,
...) with scikit-learn's own docstrings, which point into scikit-learn's user guide with
``:term:`` and ``:ref:``. Glossary terms have a fixed address on scikit-learn's site, so they
become links there. User-guide labels are not in the inventory we generate offline (see
local_inventories.py); they are rendered as plain text rather than guessed. Unresolved
references anywhere else still fail the build.

Their version notes (``.. versionadded:: 1.3``) give scikit-learn's versions, which on a
skreg page read as skreg's: they become "*Added in scikit-learn 1.3*." paragraphs.
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


VERSION_NOTE = re.compile(r"^(\s*)\.\. (versionadded|versionchanged|deprecated)::\s*(\S+)\s*(.*)$")
WORDS = {"versionadded": "Added", "versionchanged": "Changed", "deprecated": "Deprecated since"}


def _from_sklearn(obj):
    function = getattr(obj, "fget", obj)  # a property's getter holds the docstring
    return (getattr(function, "__module__", None) or "").split(".")[0] == "sklearn"


def _indent(line):
    return len(line) - len(line.lstrip())


def attributed(lines):
    """``lines`` with each version directive as a paragraph naming scikit-learn."""
    result, i = [], 0
    while i < len(lines):
        match = VERSION_NOTE.match(lines[i])
        if not match:
            result.append(lines[i])
            i += 1
            continue
        indent, kind, version, rest = match.groups()
        body = [rest] if rest else []
        i += 1
        # The directive's body: the lines indented deeper than the directive.
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(indent)):
            body.append(lines[i].strip())
            i += 1
        text = " ".join(part for part in body if part)
        note = f"*{WORDS[kind]} in scikit-learn {version}*"
        result += [f"{indent}{note}: {text}" if text else f"{indent}{note}.", ""]
    return result


def attribute_sklearn_versions(app, what, name, obj, options, lines):
    if name.startswith("skreg.") and _from_sklearn(obj):
        lines[:] = attributed(lines)


def setup(app):
    app.connect("missing-reference", resolve_from_sklearn_docstring)
    app.connect("autodoc-process-docstring", attribute_sklearn_versions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
