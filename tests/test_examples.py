"""Run every example script, as a user would, with a non-interactive matplotlib backend.

``SKREG_EXAMPLE_QUICK=1`` asks an example to use smaller settings (fewer epochs, fewer grid
points) so the suite stays fast; the code path is the same one a user runs. Without a display
(MPLBACKEND=Agg) an example saves its figures, here into ``SKREG_FIGURE_DIR``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", SKREG_EXAMPLE_QUICK="1", OMP_NUM_THREADS="1",
               SKREG_FIGURE_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Without a display, the script saves its figures (into SKREG_FIGURE_DIR) instead.
    assert (tmp_path / f"{script.stem}_1.png").is_file(), (
        f"{script.name} saved no figure: end it with the save block of the other examples"
    )


def test_example_code_fits_the_page():
    # The gallery shows each code block in a box about 88 characters wide: longer lines are
    # cut off on the site. Text blocks wrap like any paragraph, and the blocks the gallery
    # hides (sphinx_gallery_start_ignore ... end_ignore) are not shown at all.
    from sphinx_gallery.py_source_parser import (
        remove_ignore_blocks,
        split_code_and_text_blocks,
    )

    too_long = []
    for script in EXAMPLES:
        for label, content, lineno in split_code_and_text_blocks(str(script))[1]:
            if label != "code":
                continue
            for offset, line in enumerate(remove_ignore_blocks(content).splitlines()):
                if len(line) > 88:
                    too_long.append(f"{script.name}:{lineno + offset}: {line.strip()}")
    assert not too_long, "\n".join(too_long)
