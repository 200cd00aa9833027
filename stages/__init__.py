"""DVC stage scripts, run as `python -m stages.<name>` from the repo root.

Running them as modules puts the repo root first on sys.path, so a queued experiment's temporary copy imports
its own `arxiv_embed`, not the workspace's (which an editable install would otherwise provide).
"""
