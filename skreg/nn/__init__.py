"""PyTorch layers for people with their own models."""
