"""Training on more than one process or a faster graph: torchrun groups (:mod:`.distributed`, :mod:`.launch`),
``torch.compile`` (:mod:`.compiling`), where the data lives (:mod:`.placement`) and the run folder's lock
(:mod:`.runlock`, so two runs never write one folder). Nothing here knows the training configuration.
The package itself imports no torch: it holds the one setting the torch-free training configuration needs.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DIST_TIMEOUT_S"]

DEFAULT_DIST_TIMEOUT_S = 600.0
"""How long a collective waits for the other processes of a multi-process run (``--dist-timeout``): longer
than any rank-0-only work (sample grids, checkpoints, the export) or a first decoding of an image folder,
short enough that a stalled rank does not hold the others' GPUs for torch's default half hour."""
