"""VectorQuantizer's private objects as plain data, for pickles and ``skops.io``.

The estimator keeps search-ready objects (codec, streaming state, random generator); its saved
state holds only numpy arrays, lists, dicts, strings and ints, so that ``skops.io`` asks the
user to trust nothing but the public estimator class.
"""

import numpy as np

from skreg.quantization._kmeans import StreamingCodebook
from skreg.quantization._product import ProductCodebook
from skreg.quantization._residual import ResidualCodec, StreamingResidual


def _slices_to_list(slices):
    return [[int(s.start), int(s.stop)] for s in slices]


def _slices_from_list(bounds):
    return [slice(int(start), int(stop)) for start, stop in bounds]


def codec_to_dict(codec):
    return {
        "codebooks": [list(stage.codebooks) for stage in codec.stages],
        "centers": [list(stage.centers) for stage in codec.stages],
        "slices": _slices_to_list(codec.stages[0].slices),
    }


def codec_from_dict(data):
    slices = _slices_from_list(data["slices"])
    return ResidualCodec(
        [
            ProductCodebook(codebooks, slices, centers)
            for codebooks, centers in zip(data["codebooks"], data["centers"], strict=True)
        ]
    )


def stream_to_dict(stream):
    blocks = stream.blocks
    return {
        "slices": _slices_to_list(stream.slices),
        "codebooks": [[b.codebook for b in stage] for stage in blocks],
        "centers": [[b.center for b in stage] for stage in blocks],
        "counts": [[b.counts for b in stage] for stage in blocks],
        "assigned": [[b.assigned for b in stage] for stage in blocks],
        "n_steps": [[int(b.n_steps) for b in stage] for stage in blocks],
    }


def stream_from_dict(data):
    stream = StreamingResidual.__new__(StreamingResidual)
    stream.slices = _slices_from_list(data["slices"])
    stream.blocks = []
    for stage in zip(
        data["codebooks"], data["centers"], data["counts"], data["assigned"], data["n_steps"],
        strict=True,
    ):
        blocks = []
        for codebook, center, counts, assigned, n_steps in zip(*stage, strict=True):
            block = StreamingCodebook(codebook, center)
            block.counts = np.array(counts, dtype=np.float64)
            block.assigned = np.array(assigned, dtype=np.float64)
            block.n_steps = int(n_steps)
            blocks.append(block)
        stream.blocks.append(blocks)
    return stream


def generator_to_dict(rng):
    return rng.bit_generator.state


_BIT_GENERATORS = {"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}


def generator_from_dict(state):
    name = state["bit_generator"]
    if name not in _BIT_GENERATORS:
        raise ValueError(f"Unknown bit generator {name!r} in a saved VectorQuantizer.")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


_CONVERTERS = {
    "_codec": (codec_to_dict, codec_from_dict),
    "_stream": (stream_to_dict, stream_from_dict),
    "_rng": (generator_to_dict, generator_from_dict),
}


def plain_state(state):
    """The estimator's ``__dict__`` with its private objects replaced by plain data."""
    state = dict(state)
    for name, (to_plain, _) in _CONVERTERS.items():
        if name in state:
            state[name] = to_plain(state[name])
    return state


def restored_state(state):
    """The inverse of :func:`plain_state`."""
    state = dict(state)
    for name, (_, from_plain) in _CONVERTERS.items():
        if name in state:
            state[name] = from_plain(state[name])
    return state
