"""Losses and estimators as pure functions, each tested against hand-computed values."""

from __future__ import annotations

import torch


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_values: torch.Tensor,
        gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimation over a rollout.

    rewards, values, dones: (T, N); last_values: (N,) value of the state after step T-1.
    ``dones[t]`` means the episode ended at step t, so step t+1 starts a new one.
    Returns (advantages, returns), each (T, N), with returns = advantages + values.
    """
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    next_adv = torch.zeros_like(last_values)
    next_values = last_values
    for t in reversed(range(T)):
        not_done = 1.0 - dones[t].float()
        delta = rewards[t] + gamma * next_values * not_done - values[t]
        next_adv = delta + gamma * lam * not_done * next_adv
        advantages[t] = next_adv
        next_values = values[t]
    return advantages, advantages + values


def ppo_policy_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor,
                    clip: float) -> torch.Tensor:
    """Clipped surrogate objective, negated for minimization (mean over the batch)."""
    ratio = torch.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * advantages
    return -torch.min(unclipped, clipped).mean()


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
               clip: float | None) -> torch.Tensor:
    """Squared error to the returns; with ``clip``, the pessimistic max of the plain and
    the clipped (old +- clip) prediction errors, as in PPO's value clipping."""
    err = (values - returns) ** 2
    if clip is None:
        return err.mean()
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    return torch.max(err, (clipped - returns) ** 2).mean()


def action_bound_loss(mu: torch.Tensor, bound: float) -> torch.Tensor:
    """Squared excess of the action means beyond +-``bound``, summed over action dims, mean
    over the batch. Actions are clipped before they act, so a mean far past the clip
    samples the same saturated action every time: exploration in that dimension is dead
    and no gradient brings it back. This pulls such means back (rl_games' bounds loss)."""
    return ((mu - bound).clamp_min(0.0) ** 2 + (-bound - mu).clamp_min(0.0) ** 2).sum(-1).mean()


def gaussian_kl(mu_old: torch.Tensor, std_old: torch.Tensor, mu: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """KL(old || new) of diagonal Gaussians, summed over action dims, mean over batch."""
    kl = torch.log(std / std_old) + (std_old**2 + (mu_old - mu) ** 2) / (2.0 * std**2) - 0.5
    return kl.sum(-1).mean()


def adaptive_lr(lr: float, kl: float, desired_kl: float, lo: float = 1e-5, hi: float = 1e-2) -> float:
    """KL-adaptive learning rate: shrink by 1.5 when KL > 2x target, grow when < target/2."""
    if kl > 2.0 * desired_kl:
        return max(lo, lr / 1.5)
    if 0.0 < kl < 0.5 * desired_kl:
        return min(hi, lr * 1.5)
    return lr


def sac_temperature_loss(log_alpha: torch.Tensor, log_prob: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """Gradient raises alpha when the policy's entropy (-log_prob) is below the target."""
    return -(log_alpha * (log_prob.detach() + target_entropy)).mean()


def sac_q_target(reward, done, next_q1, next_q2, next_log_prob, alpha, gamma) -> torch.Tensor:
    """r + gamma (1 - done) (min(Q1', Q2') - alpha log pi(a'|s'))."""
    return reward + gamma * (1.0 - done) * (torch.min(next_q1, next_q2) - alpha * next_log_prob)


def dsac_target(reward, done, next_mean, next_std, next_log_prob, alpha, gamma, noise: torch.Tensor):
    """DSAC-T targets for one critic (Duan et al. 2023).

    ``next_mean``/``next_std``: the target critic's return distribution at (s', a'), taken
    from whichever of the twin critics has the smaller mean. Returns
    (y_mean, y_sample): y_mean = r + g(1-d)(Q' - a log pi) for the mean update
    (expected-value substitution), y_sample = the same with a return sampled from
    N(Q', sigma'^2) (``noise`` ~ N(0, 1)), for the variance update.
    """
    soft = -alpha * next_log_prob
    y_mean = reward + gamma * (1.0 - done) * (next_mean + soft)
    y_sample = reward + gamma * (1.0 - done) * (next_mean + next_std * noise + soft)
    return y_mean, y_sample


def dsac_critic_loss(mean, std, y_mean, y_sample, std_scale: torch.Tensor, clip_k: float = 3.0, eps: float = 0.1):
    """DSAC-T critic loss for one critic with Gaussian output N(mean, std^2).

    * target clipping: the sampled target is clipped to mean +- clip_k * E[std]
      (``std_scale``, a running mean of the critic's std, a scalar);
    * mean update uses the expected target y_mean; the std update uses the clipped sample;
    * variance-based gradient scaling: the loss is multiplied by (E[std]^2 + eps), which
      keeps gradient magnitudes independent of the return's scale.
    Gradients flow to ``mean`` only through the mean term and to ``std`` only through the
    log-likelihood term, as in the paper's separate mean/std gradients.
    """
    b = clip_k * std_scale
    y_clip = torch.clamp(y_sample, mean.detach() - b, mean.detach() + b)
    var = std**2
    mean_term = 0.5 * (y_mean - mean) ** 2 / var.detach()  # d/dmean = -(y_mean - mean) / var
    std_term = 0.5 * (y_clip - mean.detach()) ** 2 / var + torch.log(std)  # d/dstd = -((y - m)^2 - var) / std^3
    weight = std_scale.detach() ** 2 + eps
    return (weight * (mean_term + std_term)).mean()
