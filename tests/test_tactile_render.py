"""Tactile shading: calibration from taxim's real frames, held-out comparison, options."""

import numpy as np
import pytest
import torch

from simreal.sensors.tactile.augment import AugmentCfg, TactileAugment
from simreal.sensors.tactile.calibration import (
    CalibrationMissingError,
    ball_depth_maps,
    default_calibration_path,
    get_calibration,
    load_press_data,
    split_frames,
    taxim_data_path,
)
from simreal.sensors.tactile.calibration_io import Calibration
from simreal.sensors.tactile.sensors import get_sensor
from simreal.sensors.tactile.shading import Shader
from simreal.sensors.tactile.validate import compare_with_real

pytest.importorskip("taxim")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("simreal_cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("SIMREAL_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def calib(cache):
    cfg = get_sensor("gelsight_r15")
    assert not default_calibration_path(cfg).exists()
    calib = get_calibration(cfg)  # fitted on first use ...
    assert default_calibration_path(cfg).is_file()  # ... and cached
    return calib


def test_default_calibration_holds_out_frames(calib):
    fit, held = split_frames(48)
    assert calib.meta["fit_frames"] == fit.tolist() and calib.meta["held_out_frames"] == held.tolist()
    assert not set(fit) & set(held)


def test_rendered_ball_presses_match_held_out_real_frames(calib):
    data = load_press_data(taxim_data_path("gelsight"))
    _, held = split_frames(len(data["imgs"]))
    res = compare_with_real(calib, data, held, 2.0, 0.0295)
    print(f"held-out: MAE in contact {res['mae_in_contact']:.2f} (background alone {res['mae_background_only']:.2f}), "
          f"radius error {res['radius_error_px']:.2f} px")
    assert res["mae_in_contact"] < 6.0  # of 255; measured 3.4
    assert res["mae_in_contact"] < 0.3 * res["mae_background_only"]
    assert res["radius_error_px"] < 6.0  # measured 3.4 px (0.10 mm)


def test_no_contact_is_background_and_difference_is_zero(calib):
    shader = Shader(calib, 80, 60, get_sensor("gelsight_r15").mm_per_px_at(80))
    depth = ball_depth_maps([[40, 30]], [8], 2.0, shader.mm_per_px, 80, 60)
    depth = torch.cat([depth, torch.zeros_like(depth)])
    rgb = shader.render(depth)
    assert rgb.shape == (2, 60, 80, 3)
    assert torch.equal(rgb[1], shader.background)
    assert (rgb[0] - shader.background).abs().sum(-1).amax() > 20  # the press shows
    diff = shader.render(depth, difference=True)
    assert torch.count_nonzero(diff[1]) == 0 and torch.count_nonzero(diff[0, 0, 0]) == 0
    u8 = shader.render_uint8(depth)
    assert u8.dtype == torch.uint8 and (u8.float() - rgb).abs().max() <= 0.5 + 1e-4


def test_missing_calibration_says_how_to_make_one(cache):
    with pytest.raises(CalibrationMissingError, match="simreal tactile calibrate --sensor digit"):
        get_calibration("digit")


def test_bad_calibration_file(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, table=np.zeros(3))
    with pytest.raises(ValueError, match="not a simreal tactile calibration"):
        Calibration.load(bad)
    with pytest.raises(FileNotFoundError, match="simreal tactile calibrate"):
        Calibration.load(tmp_path / "none.npz")


def test_augmentation_per_episode_and_step():
    g = torch.Generator().manual_seed(0)
    cfg = AugmentCfg(channel_swap_prob=1.0, step_gain=0.0, step_noise=0.0, zoom=(1.0, 1.0), shift=0.0,
                     gain=(1.0, 1.0), offset=0.0)
    aug = TactileAugment(cfg, 4, g)
    img = torch.zeros(4, 6, 8, 3)
    img[..., 0], img[..., 1], img[..., 2] = 10.0, 20.0, 30.0
    out = aug.apply(img)
    for e in range(4):
        assert sorted(out[e, 0, 0].tolist()) == [10.0, 20.0, 30.0]
        assert torch.equal(out[e, 0, 0], img[e, 0, 0][aug.perm[e]])
    assert torch.equal(aug.apply(img), out)  # per-episode parameters hold until resample
    jitter = TactileAugment(AugmentCfg(), 4, g)
    a, b = jitter.apply(img), jitter.apply(img)
    assert a.shape == img.shape and not torch.equal(a, b)  # per-step noise
    old = jitter.gain.clone()
    jitter.resample(torch.tensor([1]))
    assert torch.equal(jitter.gain[0], old[0]) and not torch.equal(jitter.gain[1], old[1])
