"""PyTorch layers for people with their own models."""

from skreg.nn._vq import VQLayer

__all__ = ["VQLayer"]
