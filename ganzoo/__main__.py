"""``python -m ganzoo``: the same CLI as the ``ganzoo`` console script (torchrun uses this)."""

from __future__ import annotations

from .cli.app import main

if __name__ == "__main__":
    main()
