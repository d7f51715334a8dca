"""Models: normalizers live inside; image groups go through a CNN."""

import torch
from tensordict import TensorDict

from simreal.rl.models.actor import GaussianActor, SquashedGaussianActor
from simreal.rl.models.critic import GaussianQCritic, ValueCritic
from simreal.rl.models.normalizer import EmpiricalNormalizer

B, S, H, W, C = 6, 2, 12, 16, 3


def _obs():
    g = torch.Generator().manual_seed(0)
    return TensorDict({"policy": torch.randn(B, 5, generator=g),
                       "tactile": torch.rand(B, S * H * W * C, generator=g)}, batch_size=[B])


def test_normalizer_matches_batch_statistics_and_freezes_in_eval():
    norm = EmpiricalNormalizer(3)
    x = torch.randn(1000, 3) * torch.tensor([1.0, 2.0, 3.0]) + torch.tensor([5.0, -1.0, 0.0])
    norm.update(x[:400])
    norm.update(x[400:])
    torch.testing.assert_close(norm.mean, x.mean(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(norm.var, x.var(0, unbiased=False), atol=1e-4, rtol=1e-4)
    norm.eval()
    norm.update(x * 100)
    torch.testing.assert_close(norm.mean, x.mean(0), atol=1e-5, rtol=0)


def test_image_groups_go_through_a_cnn():
    obs = _obs()
    images = {"tactile": [S, H, W, C]}
    actor = GaussianActor(obs, ["policy", "tactile"], 4, [32], images=images)
    assert actor.obs_dim == 5 + S * H * W * C
    assert actor.normalizer.mean.shape == (5,)  # images are not normalized
    x = actor.inputs(obs)
    actor.update_normalizer(x)
    out = actor(x)
    assert out.shape == (B, 4)
    # the output depends on the images, and gradients reach the CNN
    x2 = x.clone()
    x2[:, 5:] = torch.rand_like(x2[:, 5:])
    assert not torch.allclose(actor(x2), out)
    actor(x).sum().backward()
    assert actor.features.cnns["tactile"].net[0].weight.grad.abs().sum() > 0
    for critic in (ValueCritic(obs, ["policy", "tactile"], [32], images=images),):
        assert critic(x).shape == (B,)
    q = GaussianQCritic(obs, ["tactile"], 4, [32], images=images)
    mean, std = q(q.inputs(obs), torch.zeros(B, 4))
    assert mean.shape == (B,) and (std > 0).all()
    sac_actor = SquashedGaussianActor(obs, ["tactile", "policy"], 4, [32], images=images)
    a, logp = sac_actor.sample(sac_actor.inputs(obs))
    assert a.shape == (B, 4) and logp.shape == (B,) and a.abs().max() <= 1


def test_wrong_image_shape_is_named():
    import pytest

    with pytest.raises(ValueError, match="tactile"):
        GaussianActor(_obs(), ["policy", "tactile"], 4, [32], images={"tactile": [S, H, W, 1]})


def test_image_encoder_learns_where_a_contact_is():
    """A bar pressed at 22 places across an 8x32 pad; the encoder plus a linear head is
    fitted to the bar's position. With the keypoints it learns it; from the mean
    activations alone (plain global pooling) it cannot do better than the average."""
    from simreal.rl.models.features import ImageEncoder

    xs = torch.arange(4, 26)
    img = torch.zeros(len(xs), 8, 32, 1)
    for i, x in enumerate(xs):
        img[i, 2:6, x:x + 3] = 1.0
    target = ((xs + 1.5) / 32 * 2 - 1).unsqueeze(1)
    unexplained = {}
    for features in ("all", "means only"):
        torch.manual_seed(0)
        enc = ImageEncoder([1, 8, 32, 1], channels=8)
        head = torch.nn.Linear(enc.out_dim if features == "all" else 8, 1)
        opt = torch.optim.Adam([*enc.parameters(), *head.parameters()], lr=3e-3)
        for _ in range(100):
            f = enc(img.reshape(len(xs), -1))
            loss = (head(f if features == "all" else f[:, :8]) - target).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        unexplained[features] = loss.item() / target.var().item()
    assert unexplained["all"] < 0.05 and unexplained["means only"] > 0.5, unexplained


def test_image_encoder_keeps_small_inputs_at_full_resolution():
    from simreal.rl.models.features import ImageEncoder

    small = ImageEncoder([2, 10, 14, 3])  # a pair of force fields
    assert small.net(torch.zeros(1, 3, 10, 14)).shape[-2:] == (10, 14)
    assert small(torch.zeros(4, 2 * 10 * 14 * 3)).shape == (4, small.out_dim) == (4, 2 * 3 * 32)
    assert ImageEncoder([2, 60, 80, 3]).net(torch.zeros(1, 3, 60, 80)).shape[-2:] == (15, 20)
