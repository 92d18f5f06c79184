"""The zoo's model cards (Markdown + sample grids), shipped as package data for ``ganzoo info``."""
