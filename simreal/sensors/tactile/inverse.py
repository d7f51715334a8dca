"""Colour change -> gel surface: the shading model run backwards, then integrated.

The shading table (:mod:`simreal.sensors.tactile.shading`) says what colour change a
slope bin produces at a pixel position. Inverting it per pixel is a nearest-colour
search over the table's bins; done once, on a grid of colour changes at a few positions
across the image, it becomes a look-up table (the classic GelSight recipe: colour ->
surface gradient), read by trilinear interpolation in colour and bilinear in position.
Each cell holds the soft-min average gradient of the bins whose predicted colour is
near the cell's (temperature ``softness``); cells farther than ``max_colour_error`` from
every bin (colours shading cannot explain: shadows, dirt, glare) hold a flat surface.

The gradient field is integrated to a depth map by a Poisson solve (discrete sine
transform, depth zero on the frame's border).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.fft
import torch

from simreal.cache import save_npz_atomic
from simreal.sensors.tactile.calibration_io import Calibration


class GradientTable:
    """Colour change (0..255 units, signed) at a position -> surface gradient (dh/dx, dh/dy).

    levels: colour grid points per channel; nodes: (across, down) positions the table is built at.
    """

    VERSION = 1  # of the construction below: part of the disk cache's key

    def __init__(self, calib: Calibration, levels: int = 23, nodes: tuple[int, int] = (4, 3),
                 softness: float = 3.0, max_colour_error: float = 25.0):
        n_mag, n_dir = calib.table.shape[:2]
        coef = torch.as_tensor(calib.table, dtype=torch.float32).reshape(-1, 6, 3)  # (B, 6, 3)
        theta = (torch.arange(n_mag) + 0.5) * (calib.theta_max / n_mag)
        phi = (torch.arange(n_dir) + 0.5) * (2 * math.pi / n_dir) - math.pi
        tt, pp = torch.meshgrid(theta, phi, indexing="ij")
        grad = torch.stack([torch.tan(tt) * torch.cos(pp), torch.tan(tt) * torch.sin(pp)], -1).reshape(-1, 2)
        grad = torch.cat([grad, torch.zeros(1, 2)])  # the flat surface: no colour change
        nu, nv = nodes
        u = torch.linspace(-1, 1, nu)
        v = torch.linspace(-1, 1, nv)
        vv, uu = torch.meshgrid(v, u, indexing="ij")
        uu, vv = uu.reshape(-1), vv.reshape(-1)
        basis = torch.stack([uu * uu, vv * vv, uu * vv, uu, vv, torch.ones_like(uu)], -1)  # (nodes, 6)
        pred = torch.einsum("nk,bkc->nbc", basis, coef)  # (nodes, B, 3) colour of each bin at each node
        pred = torch.cat([pred, torch.zeros(len(basis), 1, 3)], dim=1)
        self.limit = min(float(pred.abs().max()), 160.0)  # beyond: the same as the edge of the grid
        step = 2 * self.limit / (levels - 1)
        grid = torch.linspace(-self.limit, self.limit, levels)
        self.step, self.n_levels, self.nodes = step, levels, nodes
        cr, cg, cb = torch.meshgrid(grid, grid, grid, indexing="ij")
        cells = torch.stack([cr, cg, cb], -1).reshape(-1, 3)  # (C, 3)
        table = torch.zeros(len(basis), len(cells), 2)  # node index = row * nu + column
        for n in range(len(basis)):
            p = pred[n]
            for start in range(0, len(cells), 16384):
                c = cells[start:start + 16384]
                d2 = (c * c).sum(1, keepdim=True) + (p * p).sum(1) - 2 * c @ p.T  # (chunk, B+1)
                w = torch.softmax(-d2 / (2 * softness ** 2), dim=1)
                g = w @ grad
                g[d2.min(dim=1).values > max_colour_error ** 2] = 0.0
                table[n, start:start + 16384] = g
        self.table = table.reshape(nv, nu, self.n_levels, self.n_levels, self.n_levels, 2)

    def lookup(self, delta: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """(P, 2) gradients of colour changes ``delta`` (P, 3) at positions u, v (P,) in
        [0, 1] (fractions of the frame's width and height)."""
        nu, nv = self.nodes
        L = self.n_levels
        flat = self.table.reshape(-1, 2)
        fu, fv = u.clamp(0, 1) * (nu - 1), v.clamp(0, 1) * (nv - 1)
        u0 = fu.floor().long().clamp(0, nu - 2)
        v0 = fv.floor().long().clamp(0, nv - 2)
        au, av = fu - u0, fv - v0
        q = (delta.clamp(-self.limit, self.limit) + self.limit) / self.step
        q0 = q.floor().long().clamp(0, L - 2)
        a = q - q0
        corner = torch.tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])  # (8, 3)
        cell = (q0.unsqueeze(1) + corner) @ torch.tensor([L * L, L, 1])  # (P, 8)
        w_col = torch.where(corner.bool(), a.unsqueeze(1), 1 - a.unsqueeze(1)).prod(-1)  # (P, 8)
        node = torch.stack([v0 * nu + u0, v0 * nu + u0 + 1, (v0 + 1) * nu + u0, (v0 + 1) * nu + u0 + 1], 1)
        w_pos = torch.stack([(1 - av) * (1 - au), (1 - av) * au, av * (1 - au), av * au], 1)  # (P, 4)
        idx = (node * L ** 3).unsqueeze(2) + cell.unsqueeze(1)  # (P, 4, 8)
        w = w_pos.unsqueeze(2) * w_col.unsqueeze(1)
        return (flat[idx.reshape(-1)].reshape(len(delta), 32, 2) * w.reshape(-1, 32, 1)).sum(1)

    def save(self, path) -> None:
        save_npz_atomic(Path(path), table=self.table.numpy(), limit=self.limit, step=self.step,
                        nodes=np.array(self.nodes))

    @classmethod
    def load(cls, path) -> "GradientTable":
        """Raises ValueError on a file that is not such a table."""
        with np.load(path, allow_pickle=False) as data:
            table, limit, step, nodes = data["table"], data["limit"], data["step"], data["nodes"]
        L = table.shape[2] if table.ndim == 6 else 0
        if (table.ndim != 6 or table.shape[2:] != (L, L, L, 2) or nodes.shape != (2,) or limit.ndim or step.ndim
                or tuple(int(n) for n in nodes[::-1]) != table.shape[:2] or not np.isfinite(table).all()):
            raise ValueError(f"{path} is not a gradient table")
        self = cls.__new__(cls)
        self.table = torch.from_numpy(table)
        self.limit, self.step = float(limit), float(step)
        self.nodes = tuple(int(n) for n in nodes)
        self.n_levels = L
        return self


def divergence(grad: np.ndarray, mm_per_px: float) -> np.ndarray:
    """(H, W) divergence of a gradient field (H, W, 2), central differences, 1/mm."""
    gx, gy = grad[..., 0], grad[..., 1]
    div = np.zeros(gx.shape, dtype=np.float64)
    div[:, 1:-1] += (gx[:, 2:] - gx[:, :-2]) / (2 * mm_per_px)
    div[1:-1, :] += (gy[2:, :] - gy[:-2, :]) / (2 * mm_per_px)
    return div


def integrate(div: np.ndarray, mm_per_px: float) -> np.ndarray:
    """Depth (H, W) in mm whose Laplacian is ``div`` (1/mm), zero on the border: a Poisson
    solve by the type-I discrete sine transform. (A Neumann solve, the measured gradient on
    the border, follows contacts that run off the frame but drifts with the broad shading
    changes of a real R1.5 gel: on its held-out presses it doubled the centroid error.)"""
    H, W = div.shape
    rhs = scipy.fft.dstn(div[1:-1, 1:-1], type=1, workers=1)
    i = np.arange(1, H - 1).reshape(-1, 1)
    j = np.arange(1, W - 1).reshape(1, -1)
    eig = (2 * np.cos(np.pi * i / (H - 1)) - 2) + (2 * np.cos(np.pi * j / (W - 1)) - 2)
    depth = np.zeros((H, W))
    depth[1:-1, 1:-1] = scipy.fft.idstn(rhs / eig, type=1, workers=1) * mm_per_px ** 2
    return depth
