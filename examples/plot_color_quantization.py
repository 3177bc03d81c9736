"""
==========================================================
Colour quantization: a learned codebook vs a fixed palette
==========================================================

Vector quantization (Gray 1984) on a real photo: every pixel is a vector of three colour
values; a *codebook* is a short list of colours; each pixel is replaced by the index of its
nearest codebook colour, and the image is rebuilt from those indices.

We compare two codebooks on scikit-learn's ``china.jpg``:

* 64 colours learned by k-means (:class:`skreg.VectorQuantizer` with ``n_codes=64``);
* a fixed six-colour palette (red, blue, green, yellow, black, white), kept as is with
  ``init=palette, max_iter=0``.

Each panel shows the bytes the representation needs as stored here (one ``uint8`` code per
pixel plus the codebook; the original stores three ``uint8`` values per pixel) and the mean
squared error per colour channel, on the [0, 1] scale.

"Nearest" is measured in RGB, not by eye: lavender (230, 230, 250), a pale bluish colour, is
nearest to *white* in the palette; only a bluer violet, such as slate blue (106, 90, 205), maps
to blue.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

from skreg import VectorQuantizer

# The test suite sets SKREG_EXAMPLE_QUICK=1: learn the codebook on a subsample of the
# pixels.
QUICK = os.environ.get("SKREG_EXAMPLE_QUICK") == "1"

image = load_sample_image("china.jpg")
height, width, _ = image.shape
pixels = image.reshape(-1, 3).astype(np.float32) / 255

# %%
# A learned 64-colour codebook
# ----------------------------
# ``fit`` runs k-means on the pixels (all of them, or a random 20,000 in quick mode); every
# pixel is then encoded as one code and rebuilt with ``inverse_transform``.

rng = np.random.default_rng(0)
training = pixels[rng.choice(len(pixels), 20_000, replace=False)] if QUICK else pixels
learned = VectorQuantizer(64, random_state=0).fit(training)
learned_codes = learned.transform(pixels)  # (n_pixels, 1) uint8

# %%
# A fixed six-colour palette
# ---------------------------
palette = np.array(
    [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=np.float32
)
fixed = VectorQuantizer(6, init=palette, max_iter=0).fit(palette)
fixed_codes = fixed.transform(pixels)

lavender, slate_blue = (
    np.array([[230, 230, 250], [106, 90, 205]], dtype=np.float32) / 255
)
names = ["red", "blue", "green", "yellow", "black", "white"]
for name, colour in [("lavender", lavender), ("slate blue", slate_blue)]:
    print(f"{name} -> {names[fixed.predict(colour[None])[0]]}")

# %%
# Bytes and error of each representation
# --------------------------------------


def summary(quantizer, codes):
    rebuilt = quantizer.inverse_transform(codes)
    mse = float(np.mean((pixels - rebuilt) ** 2))
    n_bytes = codes.nbytes + quantizer.codebook_.nbytes
    return rebuilt.reshape(height, width, 3), n_bytes, mse


panels = [("original", image / 255, image.nbytes, 0.0)]
for title, quantizer, codes in [
    ("64 learned colours", learned, learned_codes),
    ("6-colour palette", fixed, fixed_codes),
]:
    rebuilt, n_bytes, mse = summary(quantizer, codes)
    panels.append((title, rebuilt, n_bytes, mse))
    usage = quantizer.code_usage(pixels)
    print(
        f"{title}: {n_bytes:,} bytes, MSE {mse:.5f}, codes used "
        f"{np.count_nonzero(usage.counts)} of {quantizer.n_codes}, "
        f"perplexity {usage.perplexity:.1f}"
    )

# What the figure and the user guide say: 64 learned colours rebuild the photo with a
# smaller error than the six fixed ones, and lavender is nearer to white than to blue.
assert panels[1][3] < panels[2][3], panels
assert names[fixed.predict(lavender[None])[0]] == "white"
assert names[fixed.predict(slate_blue[None])[0]] == "blue"
fig, axes = plt.subplots(2, 3, figsize=(13, 5.5), height_ratios=[6, 1])
for column, (title, picture, n_bytes, mse) in enumerate(panels):
    axes[0, column].imshow(np.clip(picture, 0, 1))
    axes[0, column].set_title(f"{title}\n{n_bytes:,} bytes, MSE {mse:.4f}")
    axes[0, column].axis("off")
for column, quantizer in [(1, learned), (2, fixed)]:
    # The codebook as a strip of swatches, most used colour first.
    order = np.argsort(quantizer.code_usage(pixels).counts)[::-1]
    axes[1, column].imshow(quantizer.codebook_[order][None], aspect="auto")
    axes[1, column].set_title("codebook, most used first", fontsize=9)
    axes[1, column].set_xticks([])  # keep the frame: a white swatch must stay visible
    axes[1, column].set_yticks([])
axes[1, 0].axis("off")
fig.tight_layout()
plt.show()
# sphinx_gallery_start_ignore
# Run as a script without a display (MPLBACKEND=Agg), save the figures instead of showing them:
# into the folder $SKREG_FIGURE_DIR, or next to this script. The docs build collects them itself.
import sys
from pathlib import Path

if "sphinx_gallery" not in sys.modules and plt.get_backend().lower() == "agg":
    folder = Path(os.environ.get("SKREG_FIGURE_DIR") or Path(__file__).parent)
    for number in plt.get_fignums():
        plt.figure(number).savefig(folder / f"{Path(__file__).stem}_{number}.png", dpi=100)
# sphinx_gallery_end_ignore
