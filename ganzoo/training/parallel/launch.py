"""``ganzoo train --nproc N``: torchrun's own launcher for the processes of one machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ...errors import ConfigError
from .distributed import DistributedRunError

__all__ = ["launch_local"]


def launch_local(nproc: int, args: Sequence[str]) -> None:
    """``ganzoo train ARGS`` on ``nproc`` processes of this machine, through torchrun's own launcher.

    Exactly ``torchrun --standalone --nproc-per-node NPROC -m ganzoo train ARGS``: a rendezvous
    on a free local port, one worker per process, all stopped when one fails. The workers inherit
    this process's environment.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if "WORLD_SIZE" in os.environ:
        raise ConfigError("--nproc inside a torchrun worker: drop --nproc (torchrun already started the processes)")
    launch = parse_args(["--standalone", "--nproc-per-node", str(nproc), "-m", "ganzoo", "train", *args])
    try:
        run(launch)
    except ChildFailedError as failure:
        ranks = sorted(failure.failures)
        codes = ", ".join(f"rank {r} exit code {failure.failures[r].exitcode}" for r in ranks)
        raise DistributedRunError(
            f"{len(ranks)} of {nproc} training processes failed ({codes}); their messages are above"
        ) from None
    sys.stdout.flush()
