"""``ganzoo gallery``: a static, self-contained HTML site of the zoo or of run folders.

:func:`~ganzoo.gallery.zoo.build_zoo` writes the zoo (every registered model, a page per
pretrained weights entry); :func:`~ganzoo.gallery.runs.build_runs` writes run folders side by
side. Pages are plain files with relative addresses that open from ``file://``. Nothing is
imported here, so ``ganzoo --help`` loads none of it (nor torch, which drawing samples needs).
"""
