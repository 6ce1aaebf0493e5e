"""Pause Python's cyclic garbage collector around allocation-heavy work."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    """Disable the cyclic garbage collector inside the block, then restore it.

    Loading and analyzing a spec allocates millions of small objects that
    form no reference cycles. The collector still scans them, again and again
    as they survive, which more than doubled the time of a 100,000-layer
    spec. Reference counting frees everything as usual meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
