"""GGUF -> MLX import: read a llama-family GGUF and store it in the cache as an MLX repo."""

from mlxk_core.gguf.importer import ImportResult, default_repo_id, import_gguf

__all__ = ["ImportResult", "default_repo_id", "import_gguf"]
