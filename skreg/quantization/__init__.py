"""Vector quantization: a k-means codebook transformer."""

from skreg.quantization._vector_quantizer import VectorQuantizer

__all__ = ["VectorQuantizer"]
