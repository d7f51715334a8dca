"""One optimizer step, the same for every algorithm: refuse a non-finite loss (the runner
turns it into TrainingDiverged with a saved checkpoint), backpropagate, average the
gradients over data-parallel ranks (a no-op in one process), clip, step."""

from __future__ import annotations

import torch
from torch import nn

from simreal.rl import distributed


def gradient_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, params, max_grad_norm: float | None,
                  what: str) -> None:
    """``what`` names the loss in the error (e.g. "PPO loss")."""
    if not torch.isfinite(loss):
        raise FloatingPointError(what)
    params = list(params)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    distributed.all_reduce_grads(params)
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()
