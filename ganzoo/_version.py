"""The single source of ganzoo's version (read by packaging and ``ganzoo --version``)."""

__version__ = "0.1.0"
