"""Build skreg's documentation site: ``python docs/build.py [--quick] [--out DIR]``.

Runs ``sphinx-build -W --keep-going`` (every warning fails the build) into ``DIR/html``
(default ``docs/_build/html``). The gallery runs every ``examples/plot_*.py`` at the settings
a reader should see, so that the figures agree with the text (each example asserts what its
figure shows). Sphinx-gallery keeps each example's outputs under ``DIR`` and re-runs only the
examples whose source changed (``--rerun-examples`` runs them all, e.g. after a change of
skreg itself). ``--quick`` (``SKREG_EXAMPLE_QUICK=1``: few epochs, small grids) is for the
test suite: the same code, figures that do not show the final numbers.

Sphinx-gallery and autosummary write generated sources (``auto_examples/``,
``api/generated/``) into the source tree, so the build works on a copy of ``docs/`` and
``examples/`` under ``DIR``: the repository stays clean, and two builds into different
directories (a test and ``make docs``) cannot interfere. The copy keeps modification times, so
a second build only redoes what changed (examples are re-run when their source changes).
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Generated inside the staged docs/: kept between builds, never copied from the repository.
GENERATED = {"_build", "auto_examples", "api"}


def stage(source, target, skip=()):
    """Mirror ``source`` into ``target`` (mtimes kept), leaving the ``skip`` entries alone."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for path in source.iterdir():
        if path.name in skip or path.name == "__pycache__":
            continue
        wanted.add(path.name)
        if path.is_dir():
            stage(path, target / path.name)
        elif not (target / path.name).exists() or (
            path.stat().st_mtime_ns != (target / path.name).stat().st_mtime_ns
        ):
            shutil.copy2(path, target / path.name)
    for path in target.iterdir():
        if path.name not in wanted and path.name not in skip and path.name != "__pycache__":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def build(out, quick=False, jobs=1, rerun_examples=False):
    """Build the site into ``out / "html"``; return sphinx-build's exit status."""
    out = Path(out).resolve()
    mode = "quick" if quick else "full"
    source = out / f"source-{mode}"
    stage(ROOT / "docs", source / "docs", skip=GENERATED)
    stage(ROOT / "examples", source / "examples")
    # The release notes page includes ../CHANGELOG.md.
    changelog = source / "CHANGELOG.md"
    if not changelog.exists() or changelog.read_bytes() != (ROOT / "CHANGELOG.md").read_bytes():
        shutil.copy2(ROOT / "CHANGELOG.md", changelog)
    html = out / "html"
    marker = html / ".build-mode"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going",
               "-j", str(jobs), "-d", str(out / f"doctrees-{mode}"), str(source / "docs"),
               str(html)]
    if not marker.exists() or marker.read_text() != mode:
        command[3:3] = ["-E", "-a"]  # the pages in html/ come from the other mode
    if rerun_examples:
        command[3:3] = ["-D", "sphinx_gallery_conf.run_stale_examples=True"]
    env = dict(os.environ, MPLBACKEND="Agg", SKREG_DOCS_INVENTORIES=str(out / "inventories"))
    env.pop("SKREG_EXAMPLE_QUICK", None)
    if quick:
        env["SKREG_EXAMPLE_QUICK"] = "1"
    status = subprocess.call(command, env=env)
    if status == 0:
        marker.write_text(mode)
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="run the examples in quick mode (the test suite's setting)")
    parser.add_argument("--rerun-examples", action="store_true",
                        help="run every example again, not only those whose source changed")
    parser.add_argument("--out", default=ROOT / "docs" / "_build", type=Path,
                        help="output directory; the site goes to OUT/html")
    parser.add_argument("-j", "--jobs", default="1", help="sphinx-build's -j (default 1)")
    args = parser.parse_args()
    status = build(args.out, quick=args.quick, jobs=args.jobs,
                   rerun_examples=args.rerun_examples)
    if status == 0:
        print(f"open {args.out.resolve() / 'html' / 'index.html'}")
    sys.exit(status)


if __name__ == "__main__":
    main()
