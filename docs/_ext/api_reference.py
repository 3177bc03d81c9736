"""Write ``api/index.rst`` from ``skreg.__all__`` before autosummary reads the sources.

Every public name gets its own page (autosummary, with the templates of ``_templates/``), so
a name added to ``skreg.__all__`` appears in the reference without editing the docs. Names are
grouped by the subpackage that defines them.
"""

import inspect
from pathlib import Path

# Section titles of the subpackages, in page order; others follow under their own name.
SECTIONS = {
    "linear": "Linear models",
    "quantization": "Vector quantization",
    "neural": "Neural networks",
    "nn": "PyTorch layers",
    "model_selection": "Model selection",
    "inspection": "Inspection and plotting",
    "utils": "Utilities",
}

HEADER = """\
.. This file is written by docs/_ext/api_reference.py from skreg.__all__ at each build.

.. _api:

=============
API reference
=============

Every public class and function of skreg, one page each. The estimators follow scikit-learn's
API (``fit``, ``predict`` / ``transform``, ``get_params``, ``set_output``) and work inside
:class:`~sklearn.pipeline.Pipeline` and :class:`~sklearn.model_selection.GridSearchCV`.
:class:`skreg.nn.VQLayer` is a :class:`torch.nn.Module` for your own PyTorch models.
"""


def public_objects():
    """``(qualified name, object)`` for every name of ``skreg.__all__`` and ``skreg.nn``."""
    import skreg
    import skreg.nn

    objects = [(f"skreg.{name}", getattr(skreg, name)) for name in skreg.__all__]
    objects += [(f"skreg.nn.{name}", getattr(skreg.nn, name)) for name in skreg.nn.__all__]
    return objects


def _section(obj):
    parts = obj.__module__.split(".")
    return parts[1] if len(parts) > 1 else "skreg"


def api_index():
    groups = {}
    for qualname, obj in public_objects():
        groups.setdefault(_section(obj), []).append((qualname, obj))
    order = [key for key in SECTIONS if key in groups] + sorted(set(groups) - set(SECTIONS))
    text = [HEADER]
    for key in order:
        title = SECTIONS.get(key, key.replace("_", " ").capitalize())
        members = sorted(groups[key], key=lambda item: (not inspect.isclass(item[1]), item[0]))
        current = {qualname.rsplit(".", 1)[0] for qualname, _ in members}
        text.append(f"\n{title}\n{'=' * len(title)}\n")
        for module in sorted(current):
            names = [q.rsplit(".", 1)[1] for q, _ in members if q.rsplit(".", 1)[0] == module]
            text.append(
                f"\n.. currentmodule:: {module}\n\n.. autosummary::\n   :toctree: generated/\n"
                "   :nosignatures:\n\n" + "".join(f"   {name}\n" for name in names)
            )
    return "".join(text)


def write_api_index(app, config):
    path = Path(app.srcdir) / "api" / "index.rst"
    path.parent.mkdir(exist_ok=True)
    text = api_index()
    if not path.exists() or path.read_text() != text:  # keep incremental builds incremental
        path.write_text(text)


def setup(app):
    # config-inited runs before autosummary scans the sources for its directives.
    app.connect("config-inited", write_api_index)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
