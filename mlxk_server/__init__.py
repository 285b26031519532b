"""`mlxk-serve`: an OpenAI-compatible ASGI server on top of mlxk_core."""
