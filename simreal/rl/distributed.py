"""Data-parallel training with PyTorch's own stack (torchrun; NCCL on GPUs, gloo on CPU).

Each rank steps its own batch of envs; gradients are averaged across ranks before every
optimizer step, and normalizer statistics are averaged before every update, so all
ranks hold identical models. Only rank 0 logs and saves.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env(device: str) -> tuple[int, int]:
    """(rank, world_size); initializes the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return dist.get_rank(), world


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_grads(params) -> None:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or not active():
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_scalar(x: float) -> float:
    """The mean of a Python float over ranks (the KL that drives the adaptive LR)."""
    if not active():
        return x
    t = torch.tensor([x], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def broadcast_module(module: torch.nn.Module) -> None:
    if active():
        for t in module.state_dict().values():
            dist.broadcast(t, src=0)


def average_buffers(module: torch.nn.Module) -> None:
    """Average floating-point buffers (normalizer statistics) across ranks."""
    if not active():
        return
    for buf in module.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf /= dist.get_world_size()


def shutdown() -> None:
    """Leave together: a rank that tears down while its peer still talks aborts gloo (SIGABRT)."""
    if dist.is_available() and dist.is_initialized():
        if dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()
