"""Run small tensor work on one CPU thread.

The tactile pipeline is many elementwise ops on tensors of a few hundred thousand
elements. Split over OpenMP threads, each op waits at a barrier for every thread; on a
machine whose cores are busy with other processes (simulation threads, other jobs) that
wait dominates: measured here 12 ms per op with 2 threads against 0.03 ms with 1. Below
``SERIAL_BELOW`` elements per image batch the work runs single-threaded.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

SERIAL_BELOW = 4_000_000  # elements (sensors x pixels) per call


@contextmanager
def serial_if_small(numel: int, device=None):
    if torch.device(device or "cpu").type != "cpu" or numel >= SERIAL_BELOW:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
