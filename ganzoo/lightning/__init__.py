"""Any ganzoo model trained with PyTorch Lightning: ``GANModule`` and the registry's data as ``GANDataModule``.

>>> import lightning as L                                                   # doctest: +SKIP
>>> from ganzoo.lightning import GANModule                                 # doctest: +SKIP
>>> gan = GANModule("dcgan-mnist", loss="non-saturating")                  # doctest: +SKIP
>>> L.Trainer(max_steps=2000).fit(gan, gan.datamodule(data_dir="data"))    # doctest: +SKIP
>>> gan.export("dcgan-lightning")                                          # doctest: +SKIP

Lightning is an optional extra (``pip install "ganzoo[lightning]"``): ``import ganzoo`` never imports this
package, and importing it without Lightning installed is a one-line :class:`~ganzoo.errors.MissingExtraError`.
"""

from __future__ import annotations

from ..errors import MissingExtraError

EXTRA_HINT = 'pip install "ganzoo[lightning]"'

try:
    import lightning  # noqa: F401
except ImportError as error:
    raise MissingExtraError(f"ganzoo.lightning needs the lightning package ({error}); install it with "
                            f"{EXTRA_HINT}") from None

from .data import GANDataModule  # noqa: E402
from .module import GANModule  # noqa: E402

__all__ = ["EXTRA_HINT", "GANDataModule", "GANModule"]
