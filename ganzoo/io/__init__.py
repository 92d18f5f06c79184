"""Files in and out, and everything from outside checked before use: the lowest layer above ``errors``.

:mod:`.files` checks output paths before the work and writes durably (one atomic-write helper);
:mod:`.folderguard` follows no link out of a folder; :mod:`.untrusted` bounds what comes from
outside (YAML, JSON, text); :mod:`.paths` finds the data and cache folders; :mod:`.memory` checks a
size against free memory before allocating; :mod:`.imaging`, :mod:`.animation` and
:mod:`.samplefiles` read and write pictures, GIFs and sample files. Nothing here knows the
registry, a model or the trainer.
"""
