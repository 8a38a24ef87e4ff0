"""The UI's pages, one module per idea; each has ``routes(ui)``: ``(path, handler, methods, login)``."""
