"""Sharding a model over several processes or hosts: the pure parts.

Where a rank finds itself (``env``), where the ranks start and the launcher that starts them
(``plan``, ``launch``), what rank 0 tells the others (``protocol``), and the checks the group
makes before it loads anything (``checks``, ``snapshot``). The MLX side lives in the backend
corner: ``mlxk_core/backends/mlx_group.py``, ``mlx_replica.py``, ``mlx_driver.py``,
``mlx_follower.py``, ``mlx_sharded.py`` and ``mlx_rank.py``.
"""
