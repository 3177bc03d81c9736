"""Intersphinx inventories written at build time, so that the docs build needs no network.

Intersphinx normally downloads each project's ``objects.inv``. Our builds run offline (CI
included), so this extension writes a small inventory per project instead, listing the public
names of the *installed* package with the URL that the project's own documentation gives them.
``conf.py`` points ``intersphinx_mapping`` at these files: ``(real site URL, local file)``.
A cross reference such as ``:class:`~sklearn.linear_model.Ridge``` then renders as a link to
the real page on scikit-learn's site. A name whose page does not follow the patterns below is
simply not listed: Sphinx renders it as plain code, never as a broken link.

The URL patterns (relative to each site's root), taken from the projects' documentation:

- scikit-learn: ``modules/generated/<module>.<Name>.html#<module>.<Name>``, one page per
  public class or function of a public module (``sklearn.linear_model.Ridge``), methods as
  anchors on the class page;
- numpy: ``reference/generated/numpy.<name>.html`` for functions, ufuncs and classes;
  scalar types on ``reference/arrays.scalars.html``; the random generators on
  ``reference/random/generator.html`` and ``reference/random/legacy.html``;
- PyTorch: ``generated/<qualified name>.html`` for ``torch``, ``torch.nn``,
  ``torch.nn.functional``, ``torch.optim`` and ``torch.optim.lr_scheduler``; ``torch.Tensor``
  on ``tensors.html``, ``torch.utils.data`` on ``data.html``;
- skorch: one page per module, ``<module>.html#skorch.<module>.<Name>`` (``net.html``,
  ``callbacks.html``, ...), and ``neuralnetclassifier.html`` / ``neuralnetregressor.html`` for
  the top-level ``skorch.NeuralNetClassifier`` / ``skorch.NeuralNetRegressor``.
"""

import hashlib
import importlib
import inspect
import pkgutil
import zlib
from pathlib import Path


def write_inventory(path, project, version, entries):
    """Write ``entries`` ``(name, role, uri)`` as a Sphinx inventory (format version 2)."""
    lines = []
    for name, role, uri in sorted(set(entries)):
        # "$" at the end of the URI stands for the name, "-" for "display the name as is".
        if uri.endswith("#" + name):
            uri = uri[: -len(name)] + "$"
        lines.append(f"{name} py:{role} 1 {uri} -")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    Path(path).write_bytes(header.encode() + zlib.compress("\n".join(lines).encode() + b"\n"))


def _public(names):
    return [name for name in names if not name.startswith("_")]


def _role(obj):
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function"


def _class_members(qualname, cls, page):
    """Public methods and properties of ``cls`` as anchors on ``page``."""
    entries = []
    for member in _public(dir(cls)):
        try:
            value = inspect.getattr_static(cls, member)
        except AttributeError:
            continue
        if isinstance(value, property):
            entries.append((f"{qualname}.{member}", "attribute", f"{page}#{qualname}.{member}"))
        elif callable(value) or isinstance(value, (staticmethod, classmethod)):
            entries.append((f"{qualname}.{member}", "method", f"{page}#{qualname}.{member}"))
    return entries


def sklearn_entries():
    import sklearn

    entries = []
    for info in pkgutil.walk_packages(sklearn.__path__, "sklearn."):
        parts = info.name.split(".")
        if any(p.startswith("_") or p in ("tests", "externals", "experimental") for p in parts):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # optional dependencies missing
            continue
        for name in _public(getattr(module, "__all__", [])):
            try:
                obj = getattr(module, name, None)
            except ImportError:  # experimental names need an explicit enable_* import
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualname = f"{info.name}.{name}"
            page = f"modules/generated/{qualname}.html"
            entries.append((qualname, _role(obj), f"{page}#{qualname}"))
            if inspect.isclass(obj):
                entries += _class_members(qualname, obj, page)
    for module in ("sklearn", *sorted({name.rsplit(".", 1)[0] for name, _, _ in entries})):
        if module.count(".") <= 1:
            entries.append((module, "module", f"api/{module}.html#module-{module}"))
    return entries


def numpy_entries():
    import numpy as np

    entries = []
    for prefix, module in (("numpy", np), ("numpy.linalg", np.linalg)):
        for name in _public(dir(module)):
            obj = getattr(module, name)
            qualname = f"{prefix}.{name}"
            if inspect.isclass(obj) and issubclass(obj, np.generic):
                entries.append((qualname, "class", f"reference/arrays.scalars.html#{qualname}"))
            elif inspect.isclass(obj) or callable(obj):
                page = f"reference/generated/{qualname}.html"
                entries.append((qualname, _role(obj), f"{page}#{qualname}"))
    for name in _public(dir(np.ndarray)):
        qualname = f"numpy.ndarray.{name}"
        role = "attribute" if not callable(getattr(np.ndarray, name)) else "method"
        entries.append((qualname, role, f"reference/generated/{qualname}.html#{qualname}"))
    random = "reference/random"
    entries += [
        ("numpy.random.Generator", "class", f"{random}/generator.html#numpy.random.Generator"),
        ("numpy.random.default_rng", "function",
         f"{random}/generator.html#numpy.random.default_rng"),
        ("numpy.random.RandomState", "class", f"{random}/legacy.html#numpy.random.RandomState"),
    ]
    return entries


# torch.nn.Parameter's page is torch.nn.parameter.Parameter.html, and so on.
TORCH_CANONICAL = {
    f"torch.nn.{name}": f"torch.nn.parameter.{name}"
    for name in ("Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer")
}


def torch_entries():
    import torch
    import torch.nn.functional
    import torch.optim.lr_scheduler
    import torch.utils.data

    entries = []
    for prefix in ("torch", "torch.nn", "torch.nn.functional", "torch.optim",
                   "torch.optim.lr_scheduler"):
        module = importlib.import_module(prefix)
        names = getattr(module, "__all__", None) or dir(module)
        for name in _public(names):
            obj = getattr(module, name, None)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            qualname = f"{prefix}.{name}"
            # A few classes are documented under their defining module.
            canonical = TORCH_CANONICAL.get(qualname, qualname)
            page = f"generated/{canonical}.html"
            entries.append((qualname, _role(obj), f"{page}#{canonical}"))
    entries = [e for e in entries if e[0] != "torch.Tensor"]
    entries.append(("torch.Tensor", "class", "tensors.html#torch.Tensor"))
    for name in _public(dir(torch.Tensor)):
        qualname = f"torch.Tensor.{name}"
        entries.append((qualname, "method", f"generated/{qualname}.html#{qualname}"))
    for name in ("dtype", "device", "layout", "memory_format"):
        entries.append((f"torch.{name}", "class", f"tensor_attributes.html#torch.{name}"))
    for name in _public(torch.utils.data.__all__):
        qualname = f"torch.utils.data.{name}"
        entries.append((qualname, _role(getattr(torch.utils.data, name)),
                        f"data.html#{qualname}"))
    return entries


def skorch_entries():
    import skorch

    entries = []
    for page in ("net", "classifier", "regressor", "callbacks", "history", "dataset", "helper",
                 "utils", "scoring", "exceptions", "toy"):
        try:
            module = importlib.import_module(f"skorch.{page}")
        except ImportError:
            continue
        entries.append((module.__name__, "module", f"{page}.html#module-{module.__name__}"))
        names = getattr(module, "__all__", None) or [
            name for name, obj in vars(module).items()
            if getattr(obj, "__module__", None) == module.__name__
        ]
        for name in _public(names):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualname = f"skorch.{page}.{name}"
            entries.append((qualname, _role(obj), f"{page}.html#{qualname}"))
            if inspect.isclass(obj):
                entries += _class_members(qualname, obj, f"{page}.html")
    # The top-level names: two have their own page, the others point to their module's page.
    own_page = {"NeuralNetClassifier": "neuralnetclassifier", "NeuralNetRegressor":
                "neuralnetregressor"}
    for name in _public(skorch.__all__):
        obj = getattr(skorch, name)
        if not inspect.isclass(obj):
            continue
        if name in own_page:
            entries.append((f"skorch.{name}", "class",
                            f"{own_page[name]}.html#skorch.{name}"))
        else:
            canonical = f"skorch.{obj.__module__.split('.')[1]}.{name}"
            page = obj.__module__.split(".")[1]
            entries.append((f"skorch.{name}", "class", f"{page}.html#{canonical}"))
    return entries


# name in intersphinx_mapping -> (site root, project, distribution, entry builder)
PROJECTS = {
    "sklearn": ("https://scikit-learn.org/stable/", "scikit-learn", "sklearn", sklearn_entries),
    "numpy": ("https://numpy.org/doc/stable/", "NumPy", "numpy", numpy_entries),
    "torch": ("https://docs.pytorch.org/docs/stable/", "PyTorch", "torch", torch_entries),
    "skorch": ("https://skorch.readthedocs.io/en/stable/", "skorch", "skorch", skorch_entries),
}


def write_all(directory):
    """Write one inventory per project into ``directory``; return the intersphinx mapping."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for key, (url, project, package, build) in PROJECTS.items():
        version = importlib.import_module(package).__version__
        path = directory / f"{key}.inv"
        # Written again only for another installed version or another version of this module
        # (listing the names takes about 10 s for all four projects).
        key_file = path.with_suffix(".key")
        cache_key = f"{version} {hashlib.sha1(Path(__file__).read_bytes()).hexdigest()}"
        if not path.exists() or not key_file.exists() or key_file.read_text() != cache_key:
            write_inventory(path, project, version, build())
            key_file.write_text(cache_key)
        mapping[key] = (url, str(path))
    return mapping
