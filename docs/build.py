"""Build the API reference: one Markdown page from the docstrings of skreg's public names.

A stub until the documentation issue brings a full site; it still fails loudly when a public name
has no docstring.
"""

import inspect
import sys
from pathlib import Path

import skreg
import skreg.nn


def main():
    out_dir = Path(__file__).parent / "_build"
    out_dir.mkdir(exist_ok=True)
    sections = ["# skreg API reference\n"]
    missing = []
    for module, names in [(skreg, skreg.__all__), (skreg.nn, skreg.nn.__all__)]:
        for name in names:
            obj = getattr(module, name)
            doc = inspect.getdoc(obj)
            if not doc:
                missing.append(f"{module.__name__}.{name}")
                continue
            try:
                signature = str(inspect.signature(obj))
            except (TypeError, ValueError):
                signature = "(...)"
            sections.append(f"## `{module.__name__}.{name}{signature}`\n\n```\n{doc}\n```\n")
    if missing:
        sys.exit(f"public names without a docstring: {', '.join(missing)}")
    target = out_dir / "api.md"
    target.write_text("\n".join(sections))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
