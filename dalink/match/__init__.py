"""Trusted linker: load packages, block, compare, estimate the model, cluster into entities."""
