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
