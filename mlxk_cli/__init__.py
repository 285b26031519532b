"""`mlxk`: the command line on top of mlxk_core."""
