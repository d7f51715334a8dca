"""Losses against hand-computed numbers."""

import math

import pytest
import torch

from simreal.rl import losses


def test_gae_by_hand():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [1.0], [1.5]])
    dones = torch.tensor([[0.0], [1.0], [0.0]])  # the episode ends at step 1
    adv, ret = losses.gae(rewards, values, dones, torch.tensor([2.0]), gamma=0.9, lam=0.8)
    # t=2: 2 + .9*2 - 1.5 = 2.3 ; t=1: 0 - 1 = -1 (no bootstrap past the end) ; t=0: 1 + .9*1 - .5 + .9*.8*(-1) = .68
    torch.testing.assert_close(adv[:, 0], torch.tensor([0.68, -1.0, 2.3]))
    torch.testing.assert_close(ret[:, 0], torch.tensor([1.18, 0.0, 3.8]))


def test_ppo_clipped_surrogate_by_hand():
    log_prob = torch.tensor([0.0, math.log(1.5)])
    old = torch.zeros(2)
    adv = torch.tensor([1.0, -2.0])
    # ratios 1 and 1.5: min(1*1, 1*1) = 1 ; min(1.5*-2, 1.2*-2) = -3 -> loss = -(1 - 3)/2 = 1
    assert losses.ppo_policy_loss(log_prob, old, adv, clip=0.2).item() == pytest.approx(1.0)
    # with a positive advantage the clip caps the gain at 1.2
    assert losses.ppo_policy_loss(torch.tensor([math.log(1.5)]), torch.zeros(1), torch.tensor([2.0]),
                                  0.2).item() == pytest.approx(-2.4)


def test_value_clipping_is_pessimistic():
    assert losses.value_loss(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.5]),
                             0.2).item() == pytest.approx(0.25)
    assert losses.value_loss(torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([1.0]),
                             0.2).item() == pytest.approx(0.64)
    assert losses.value_loss(torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([1.0]),
                             None).item() == pytest.approx(0.25)


def test_gaussian_kl_and_adaptive_lr():
    mu, std = torch.zeros(1, 2), torch.ones(1, 2)
    assert losses.gaussian_kl(mu, std, mu, std).item() == pytest.approx(0.0)
    # KL(N(0,1) || N(1,1)) = 0.5 per dim
    assert losses.gaussian_kl(mu, std, mu + 1, std).item() == pytest.approx(1.0)
    assert losses.adaptive_lr(1e-3, kl=0.05, desired_kl=0.01) == pytest.approx(1e-3 / 1.5)
    assert losses.adaptive_lr(1e-3, kl=0.001, desired_kl=0.01) == pytest.approx(1.5e-3)
    assert losses.adaptive_lr(1e-3, kl=0.01, desired_kl=0.01) == 1e-3
    assert losses.adaptive_lr(2.5e-3, kl=0.001, desired_kl=0.01, hi=3e-3) == 3e-3  # the ceiling


def test_sac_temperature_moves_the_right_way():
    target = -1.0
    for log_prob, should_rise in ((-10.0, False), (5.0, True)):  # entropy 10 > target: alpha falls; -5 < target: rises
        log_alpha = torch.zeros((), requires_grad=True)
        opt = torch.optim.SGD([log_alpha], lr=0.1)
        losses.sac_temperature_loss(log_alpha, torch.full((8,), log_prob), target).backward()
        opt.step()
        assert (log_alpha.item() > 0) == should_rise


def test_sac_q_target_by_hand():
    y = losses.sac_q_target(torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]), torch.tensor([3.0, 3.0]),
                            torch.tensor([2.0, 2.0]), torch.tensor([-1.0, -1.0]), alpha=0.5, gamma=0.9)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.9 * (2.0 + 0.5), 1.0]))


def test_dsac_targets_by_hand():
    y_mean, y_sample = losses.dsac_target(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([2.0]),
                                          torch.tensor([0.5]), torch.tensor([-2.0]), 0.1, 0.9,
                                          noise=torch.tensor([2.0]))
    assert y_mean.item() == pytest.approx(1 + 0.9 * (2.0 + 0.2))
    assert y_sample.item() == pytest.approx(1 + 0.9 * (2.0 + 0.5 * 2.0 + 0.2))


def test_dsac_clipping_and_variance_scaling_by_hand():
    mean = torch.tensor([1.0], requires_grad=True)
    std = torch.tensor([2.0], requires_grad=True)
    # sample target 5 is clipped to mean + 3 * E[std] = 1 + 3 * 0.5 = 2.5; weight = 0.5^2 + 0.1
    loss = losses.dsac_critic_loss(mean, std, torch.tensor([2.0]), torch.tensor([5.0]), torch.tensor(0.5), 3.0, 0.1)
    expected = 0.35 * (0.5 * 1.0 / 4.0 + 0.5 * 1.5**2 / 4.0 + math.log(2.0))
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert mean.grad.item() == pytest.approx(0.35 * -(2.0 - 1.0) / 4.0)  # expected-value substitution: y_mean only
    assert std.grad.item() == pytest.approx(0.35 * (-(1.5**2) / 8.0 + 0.5))
    # an unclipped target inside the band is used as is
    mean2 = torch.tensor([1.0], requires_grad=True)
    std2 = torch.tensor([2.0], requires_grad=True)
    losses.dsac_critic_loss(mean2, std2, torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor(0.5), 3.0,
                            0.1).backward()
    assert std2.grad.item() == pytest.approx(0.35 * (-(1.0**2) / 8.0 + 0.5))


def test_action_bound_loss_by_hand():
    mu = torch.tensor([[2.1, -0.5], [-1.6, 1.1]], requires_grad=True)
    loss = losses.action_bound_loss(mu, bound=1.1)
    assert loss.item() == pytest.approx((1.0**2 + 0.5**2) / 2)  # only the means past +-1.1 count
    loss.backward()
    torch.testing.assert_close(mu.grad, torch.tensor([[1.0, 0.0], [-0.5, 0.0]]))  # pushes them back inside
