"""The generation engine: one scheduler that the Runner, the CLI, the server and notebooks share.

:class:`~mlxk_core.engine.engine.Engine` owns a worker thread that makes every model call, the
queue of waiting requests, the pool of loaded models and one continuous batch per loaded model.
"""
