"""Return freed decoder buffers to the system instead of keeping them in the heap.

glibc raises its mmap threshold each time a large mmapped block is freed (up to
32 MB), so the decoder's per-batch buffers soon come from the heap, where freed space
stays resident and fragments. A fixed 4 MB threshold keeps them in mmap, given back
at free. Measured here on a 12.7-min programme through `efir transcribe`: peak RSS
1,540 MB -> 1,262 MB, identical transcript.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["return_large_buffers_on_free"]

# mallopt parameters from glibc's <malloc.h>; fixing either turns off the dynamic threshold.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD_BYTES = 4 * 1024 * 1024


def return_large_buffers_on_free() -> bool:
    """Fix glibc's mmap and trim thresholds for this process (and children it forks).

    False where the C library is not glibc (musl, macOS): nothing changes there."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    fixed_mmap = mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES)
    fixed_trim = mallopt(_M_TRIM_THRESHOLD, _THRESHOLD_BYTES)
    return bool(fixed_mmap and fixed_trim)
