"""ganzoo's built-in plugins, installed as the package ``ganzoo_plugins``.

Each sub-package is written exactly as a third-party plugin would be: its ``__init__``
holds ``@ganzoo.hookimpl`` functions that register lazy records and imports no torch;
the networks and loaders live in sibling modules imported only when used.
"""
