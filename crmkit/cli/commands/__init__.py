"""The built-in commands, one module per noun."""
