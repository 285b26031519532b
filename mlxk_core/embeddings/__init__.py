"""Embeddings: one normalized vector per text, from the same engine that generates.

:class:`~mlxk_core.embeddings.embedder.Embedder` is the library's entry point; the engine runs
each request a forward pass (a batch of inputs) at a time between generation steps.
"""
