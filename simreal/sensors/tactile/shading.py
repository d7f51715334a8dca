"""Depth map -> RGB by Taxim's polynomial look-up table (Si & Yuan 2022).

The gel surface (the depth map, smoothed by a Gaussian standing in for the elastomer's
spread) is reduced per pixel to its slope angle theta = atan(|grad h|) and slope
direction phi; (theta, phi) pick a bin of the table, and the bin's quadratic in pixel
position (u, v in [-1, 1]) gives the colour change from the no-contact background:
    rgb = background + sum_k C[bin, k] * [u^2, v^2, uv, u, v, 1]_k.
Only pixels with a slope are evaluated; the rest of the frame is the background.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from simreal.errors import InputError
from simreal.sensors.tactile.calibration_io import Calibration

SLOPE_EPS_RAD = 2e-3  # flatter than this: background (colour change well under one level)


def gaussian_blur(x: torch.Tensor, sigma_px: float, replicate: bool = False) -> torch.Tensor:
    """Separable Gaussian blur of (B, H, W): zero beyond the border (no contact there),
    or the edge value repeated when ``replicate``."""
    if sigma_px < 0.3:
        return x
    radius = max(1, int(math.ceil(3 * sigma_px)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma_px) ** 2)
    k = k / k.sum()
    y = x.unsqueeze(1)
    if replicate:
        y = F.pad(y, (radius, radius, radius, radius), mode="replicate")
        y = F.conv2d(F.conv2d(y, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
        return y.squeeze(1)
    y = F.conv2d(y, k.view(1, 1, 1, -1), padding=(0, radius))
    return F.conv2d(y, k.view(1, 1, -1, 1), padding=(radius, 0)).squeeze(1)


def slope_features(depth_mm: torch.Tensor, mm_per_px: float, blur_sigma_mm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Slope angle theta (B, H, W) in [0, pi/2) and direction phi in [-pi, pi) of the
    blurred depth map (central differences, depth and pixel size in mm)."""
    h = gaussian_blur(depth_mm, blur_sigma_mm / mm_per_px)
    hp = F.pad(h.unsqueeze(1), (1, 1, 1, 1), mode="replicate").squeeze(1)
    gx = (hp[:, 1:-1, 2:] - hp[:, 1:-1, :-2]) / (2 * mm_per_px)
    gy = (hp[:, 2:, 1:-1] - hp[:, :-2, 1:-1]) / (2 * mm_per_px)
    return torch.atan(torch.sqrt(gx * gx + gy * gy)), torch.atan2(gy, gx)


def position_basis(width: int, height: int, device="cpu") -> torch.Tensor:
    """(H*W, 6) quadratic basis [u^2, v^2, uv, u, v, 1] at pixel centres, u, v in [-1, 1]."""
    u = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 - 1
    v = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 - 1
    vv, uu = torch.meshgrid(v, u, indexing="ij")
    uu, vv = uu.reshape(-1), vv.reshape(-1)
    return torch.stack([uu * uu, vv * vv, uu * vv, uu, vv, torch.ones_like(uu)], dim=-1)


def bin_index(theta: torch.Tensor, phi: torch.Tensor, theta_max: float, n_mag: int, n_dir: int) -> torch.Tensor:
    """Flat table bin (mag * n_dir + dir) of slope angle and direction."""
    im = (theta * (n_mag / theta_max)).long().clamp(0, n_mag - 1)
    idir = ((phi + math.pi) * (n_dir / (2 * math.pi))).long().remainder(n_dir)
    return im * n_dir + idir


class Shader:
    """Renders depth maps of one resolution with one calibration.

    width, height: output pixels; mm_per_px: gel size of one output pixel.
    """

    def __init__(self, calib: Calibration, width: int, height: int, mm_per_px: float, device="cpu"):
        self.calib, self.width, self.height, self.mm_per_px = calib, width, height, mm_per_px
        self.n_mag, self.n_dir = calib.table.shape[:2]
        self.table = torch.as_tensor(calib.table, device=device).reshape(-1, 6, 3).float()
        bg = torch.as_tensor(calib.background, device=device).float().permute(2, 0, 1).unsqueeze(0)
        if bg.shape[-2:] != (height, width):
            bg = F.interpolate(bg, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
        self.background = bg.squeeze(0).permute(1, 2, 0).contiguous()  # (H, W, 3), 0..255
        self.background_u8 = self.background.round().clamp(0, 255).to(torch.uint8)
        self.basis = position_basis(width, height, device)
        self.blur_px = calib.blur_sigma_mm / mm_per_px
        self.halo = (int(math.ceil(3 * self.blur_px)) if self.blur_px >= 0.3 else 0) + 1
        # tiles follow the contact at full resolution; a small image is one tile
        self.tile = 32 if width * height > 160 * 120 else max(width, height)
        if self.halo > self.tile:
            raise InputError(f"blur of {self.blur_px:.1f} px reaches past a {self.tile}-px tile; lower blur_sigma_mm")
        self._mag2_eps = math.tan(SLOPE_EPS_RAD) ** 2

    def colour_change(self, depth_mm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sparse colour change of depth maps (B, H, W): flat indices (M,) into B*H*W, the
        pixel indices (M,) into H*W, and the (M, 3) colour deltas.

        Work is done on square tiles that hold contact (plus their neighbours, for the
        blur's reach), so its cost follows the contact area, not the frame size.
        """
        B, H, W = depth_mm.shape
        if (H, W) != (self.height, self.width):
            raise InputError(f"depth map is {(H, W)}, shader renders {(self.height, self.width)}")
        T, m = self.tile, self.halo
        nty, ntx = -(-H // T), -(-W // T)
        padded = F.pad(depth_mm, (m, ntx * T - W + m, m, nty * T - H + m))  # zero: no contact off the gel
        core = padded[:, m:m + nty * T, m:m + ntx * T]
        active = core.reshape(B, nty, T, ntx, T).amax(dim=(2, 4)) > 0
        active = F.max_pool2d(active.unsqueeze(1).float(), 3, 1, 1).squeeze(1) > 0
        b, ty, tx = active.nonzero(as_tuple=True)  # (K,) tiles with contact or next to it
        span = torch.arange(T + 2 * m, device=depth_mm.device)
        rows = (ty * T).unsqueeze(1) + span
        cols = (tx * T).unsqueeze(1) + span
        tiles = padded[b.view(-1, 1, 1), rows.unsqueeze(2), cols.unsqueeze(1)]  # (K, T+2m, T+2m)
        h = gaussian_blur(tiles, self.blur_px)  # exact inside the halo
        s = 1.0 / (2 * self.mm_per_px)
        gx = (h[:, m:m + T, m + 1:m + T + 1] - h[:, m:m + T, m - 1:m + T - 1]) * s
        gy = (h[:, m + 1:m + T + 1, m:m + T] - h[:, m - 1:m + T - 1, m:m + T]) * s
        mag2 = gx * gx + gy * gy
        k, i, j = (mag2 > self._mag2_eps).nonzero(as_tuple=True)
        y, x = ty[k] * T + i, tx[k] * T + j
        keep = (y < H) & (x < W)
        k, y, x = k[keep], y[keep], x[keep]
        gxs, gys = gx[k, i[keep], j[keep]], gy[k, i[keep], j[keep]]
        theta = torch.atan(torch.sqrt(gxs * gxs + gys * gys))
        phi = torch.atan2(gys, gxs)
        pix = y * W + x
        coef = self.table[bin_index(theta, phi, self.calib.theta_max, self.n_mag, self.n_dir)]  # (M, 6, 3)
        delta = torch.einsum("mk,mkc->mc", self.basis[pix], coef)
        return b[k] * (H * W) + pix, pix, delta

    def render(self, depth_mm: torch.Tensor, difference: bool = False) -> torch.Tensor:
        """(B, H, W, 3) float RGB in [0, 255]; ``difference``: the change from the
        background instead (signed)."""
        B = depth_mm.shape[0]
        idx, _, delta = self.colour_change(depth_mm)
        if difference:
            out = torch.zeros(B * self.height * self.width, 3, device=delta.device)
            out[idx] = delta
        else:
            out = self.background.unsqueeze(0).expand(B, -1, -1, -1).reshape(-1, 3).clone()
            out[idx] = (out[idx] + delta).clamp(0, 255)
        return out.reshape(B, self.height, self.width, 3)

    def render_uint8(self, depth_mm: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 RGB (a quarter of the float memory: full-resolution batches)."""
        B = depth_mm.shape[0]
        idx, pix, delta = self.colour_change(depth_mm)
        out = self.background_u8.unsqueeze(0).expand(B, -1, -1, -1).reshape(-1, 3).clone()
        out[idx] = (self.background.reshape(-1, 3)[pix] + delta).round().clamp(0, 255).to(torch.uint8)
        return out.reshape(B, self.height, self.width, 3)
