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

import functools
import math
from pathlib import Path

import numpy as np
import scipy.fft
import torch
import torch.nn.functional as F

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
        [0, 1] (fractions of the frame's width and height): trilinear in colour within each
        position node's table, bilinear across the four nodes around the pixel. The pixels are
        taken cell by cell (the rectangle between four nodes), each cell one ``grid_sample``
        on its four nodes' tables stacked as channels."""
        nu, nv = self.nodes
        fu, fv = u.clamp(0, 1) * (nu - 1), v.clamp(0, 1) * (nv - 1)
        u0, v0 = fu.floor().clamp(0, nu - 2), fv.floor().clamp(0, nv - 2)
        au, av = fu - u0, fv - v0
        cell = v0.long() * (nu - 1) + u0.long()
        # grid_sample's (x, y, z) index (W, H, D) = (b, g, r); -1..1 spans the grid's end points
        where = (delta.clamp(-self.limit, self.limit) / self.limit).flip(-1)
        out = torch.empty(len(delta), 2)
        order = torch.argsort(cell)
        start = 0
        for c, k in enumerate(torch.bincount(cell, minlength=(nv - 1) * (nu - 1)).tolist()):
            if not k:
                continue
            idx = order[start:start + k]
            start += k
            g = F.grid_sample(self._cell_volumes[c:c + 1], where[idx].view(1, 1, 1, k, 3), mode="bilinear",
                              padding_mode="border", align_corners=True).view(4, 2, k)
            a, b = au[idx], av[idx]
            w = torch.stack([(1 - b) * (1 - a), (1 - b) * a, b * (1 - a), b * a])  # the nodes' bilinear weights
            out[idx] = (g * w.unsqueeze(1)).sum(0).T
        return out

    @functools.cached_property
    def _cell_volumes(self) -> torch.Tensor:
        """(cells, 8, r, g, b): per cell, the gradient tables of its four nodes (top left, top
        right, bottom left, bottom right), two channels each."""
        nu, nv = self.nodes
        vol = self.table.permute(0, 1, 5, 2, 3, 4)  # (nv, nu, 2, r, g, b)
        return torch.stack([torch.cat([vol[v, u], vol[v, u + 1], vol[v + 1, u], vol[v + 1, u + 1]])
                            for v in range(nv - 1) for u in range(nu - 1)]).contiguous()

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
    div = np.zeros(gx.shape, dtype=np.float32)
    div[:, 1:-1] += (gx[:, 2:] - gx[:, :-2]) / (2 * mm_per_px)
    div[1:-1, :] += (gy[2:, :] - gy[:-2, :]) / (2 * mm_per_px)
    return div


def _fast_dst_size(n: int) -> int:
    """The least m >= n whose type-I DST is fast: pocketfft runs it as an FFT of 2(m+1) points,
    and a prime m + 1 (240 rows: 239) costs it three times a smooth one."""
    return scipy.fft.next_fast_len(n + 1, real=True) - 1


def integrate(div: np.ndarray, mm_per_px: float) -> np.ndarray:
    """Depth (H, W) in mm whose Laplacian is ``div`` (1/mm), zero on the border: a Poisson
    solve by the type-I discrete sine transform, in float32. The interior is padded with
    zero divergence (split between both sides) to a size whose transform is fast, so depth is
    zero on a border at most a few pixels outside the frame's. (A Neumann solve, the measured
    gradient on the border, follows contacts that run off the frame but drifts with the broad
    shading changes of a real R1.5 gel: on its held-out presses it doubled the centroid error.)"""
    H, W = div.shape
    h, w = _fast_dst_size(H - 2), _fast_dst_size(W - 2)
    top, left = (h - (H - 2)) // 2, (w - (W - 2)) // 2
    inner = np.zeros((h, w), np.float32)
    inner[top:top + H - 2, left:left + W - 2] = div[1:-1, 1:-1]
    i = np.arange(1, h + 1, dtype=np.float32).reshape(-1, 1)
    j = np.arange(1, w + 1, dtype=np.float32).reshape(1, -1)
    eig = (2 * np.cos(np.pi * i / (h + 1)) - 2) + (2 * np.cos(np.pi * j / (w + 1)) - 2)
    solved = scipy.fft.idstn(scipy.fft.dstn(inner, type=1, workers=1) / eig, type=1, workers=1)
    depth = np.zeros((H, W), np.float32)
    depth[1:-1, 1:-1] = solved[top:top + H - 2, left:left + W - 2] * np.float32(mm_per_px ** 2)
    return depth
