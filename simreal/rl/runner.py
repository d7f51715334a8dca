"""The training loop: collection, updates, logging, checkpoints, resume, clean Ctrl-C."""

from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path

import torch

from simreal.errors import InputError, SimrealError
from simreal.rl import distributed, provenance
from simreal.rl.algorithms import algorithm
from simreal.rl.checkpoint import checkpoint_path, load_checkpoint, restore, save_checkpoint
from simreal.rl.config import TrainCfg, apply_torch_threads, save_yaml
from simreal.rl.factory import build_algorithm, make_env_for
from simreal.rl.logger import TrainLogger


class TrainingDiverged(SimrealError):
    """A loss turned NaN/inf; the last good parameters were saved."""


class Runner:
    """Owns the loop; the algorithm owns the maths. Only rank 0 logs and saves."""

    def __init__(self, cfg: TrainCfg, run_dir: str | Path | None = None, env=None, resume: bool = False,
                 log: bool = True, rank: int = 0):
        apply_torch_threads(cfg)
        torch.manual_seed(cfg.seed)  # same initial models on every rank; envs differ by seed
        spec = algorithm(cfg.algo)
        cfg = spec.resolve(cfg)
        self.cfg = cfg
        self.rank = rank
        self.env = env if env is not None else make_env_for(cfg, seed=cfg.seed + 1000 * rank)
        obs = self.env.get_observations()
        self.algo = build_algorithm(cfg, self.env, obs)
        if spec.start is not None:
            spec.start(self.algo, cfg, self.env, obs)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.iteration = 0
        self.env_steps = 0
        self.best_metric = -math.inf
        if resume:
            if self.run_dir is None:
                raise InputError("resume needs a run directory")
            path = checkpoint_path(self.run_dir)
            state = load_checkpoint(path)
            restore(self.algo, state, path)
            adr = getattr(self.env, "adr", None)
            if adr is not None and isinstance(state.get("env"), dict) and "adr" in state["env"]:
                adr.load_state_dict(state["env"]["adr"])
            self.iteration, self.env_steps = state["iteration"], state["env_steps"]
            self.best_metric = state["metrics"].get("best_metric", -math.inf)
            if self.env_steps >= cfg.steps:
                raise InputError(f"{self.run_dir} has trained {self.env_steps} env steps already, its target "
                                 f"(steps={cfg.steps}); resume with --steps above {self.env_steps} to train further")
        for module in (self.algo.actor, getattr(self.algo, "critic", None), getattr(self.algo, "critics", None)):
            if module is not None:
                distributed.broadcast_module(module)
        self.is_main = rank == 0
        if self.run_dir is not None and self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_yaml(cfg, self.run_dir / "config.yaml")
            provenance.write(self.run_dir, cfg, self.env)
        title = f"{cfg.task} {cfg.algo}"
        self.logger = TrainLogger(self.run_dir if self.is_main else None, title, cfg.steps, cfg.log_every_s,
                                  enabled=log and self.is_main)

    # ----------------------------------------------------------------- loop
    def train(self) -> dict:
        env, algo, cfg = self.env, self.algo, self.cfg
        n = env.num_envs
        obs = env.get_observations()
        returns = torch.zeros(n, device=env.device)
        recent_returns, recent_success = deque(maxlen=200), deque(maxlen=200)
        episode_terms: dict[str, list[float]] = {}
        train_stats: dict = {}
        start = time.perf_counter()
        steps_at_start = self.env_steps
        last_log = 0.0
        logged_at = None  # env steps of the last metrics row
        metrics: dict = {}
        try:
            while self.env_steps < cfg.steps:
                actions = algo.act(obs)
                next_obs, rewards, dones, extras = env.step(actions)
                algo.process_step(rewards, dones, extras, next_obs)
                obs = next_obs
                self.env_steps += n
                returns += rewards
                if dones.any():
                    recent_returns.extend(returns[dones].tolist())
                    returns[dones] = 0.0
                    if "episode_success" in extras:
                        recent_success.extend(extras["episode_success"][dones].float().tolist())
                    for k, v in extras.get("episode", {}).items():
                        episode_terms.setdefault(k, []).append(float(v))
                if not algo.ready:
                    continue
                train_stats = algo.update(obs)
                self.iteration += 1
                bad = [k for k, v in train_stats.items() if not math.isfinite(v)]
                if bad:
                    raise FloatingPointError(f"non-finite {bad}")
                elapsed = time.perf_counter() - start
                if elapsed - last_log >= 1.0 or self.env_steps >= cfg.steps:
                    last_log = elapsed
                    metrics = self._metrics(train_stats, recent_returns, recent_success, episode_terms)
                    episode_terms = {}
                    rate = (self.env_steps - steps_at_start) / max(elapsed, 1e-9)
                    metrics["perf/steps_per_s"] = rate
                    self.logger.log(self.env_steps, metrics, rate, elapsed)
                    logged_at = self.env_steps
                    self._maybe_save_best(metrics)
                if self.iteration % cfg.checkpoint_every == 0:
                    self._save("latest", metrics)
            metrics = self._final_row(logged_at, metrics, train_stats, recent_returns, recent_success, episode_terms,
                                      start, steps_at_start)
        except KeyboardInterrupt:
            metrics = self._final_row(logged_at, metrics, train_stats, recent_returns, recent_success, episode_terms,
                                      start, steps_at_start)
            self._save("latest", metrics)
            self.logger.message(f"interrupted: saved {checkpoint_path(self.run_dir)} at {self.env_steps} env steps "
                                f"(resume with: simreal train --resume {self.run_dir})"
                                if self.run_dir else "interrupted")
            raise
        except FloatingPointError as err:
            # the failing update raised before its optimizer step: parameters are still the last good ones
            self._save("latest", metrics)
            where = f"; saved to {checkpoint_path(self.run_dir)}" if self.run_dir else ""
            raise TrainingDiverged(
                f"training stopped at iteration {self.iteration + 1}: {err} loss. Last good iteration: "
                f"{self.iteration}{where}. Lower the learning rate or check rewards/observations for NaN."
            ) from err
        finally:
            self.logger.close()
        self._save("latest", metrics)
        metrics.update(env_steps=self.env_steps, iterations=self.iteration,
                       wall_s=round(time.perf_counter() - start, 1))
        return metrics

    # ----------------------------------------------------------------- helpers
    def _final_row(self, logged_at, metrics, train_stats, recent_returns, recent_success, episode_terms,
                   start, steps_at_start) -> dict:
        """The run's last metrics row, logged unless the last row was already at this step
        (a run, or a resume, whose last update fell between two log periods)."""
        if logged_at == self.env_steps:
            return metrics
        metrics = self._metrics(train_stats, recent_returns, recent_success, episode_terms)
        elapsed = time.perf_counter() - start
        metrics["perf/steps_per_s"] = (self.env_steps - steps_at_start) / max(elapsed, 1e-9)
        self.logger.log(self.env_steps, metrics, metrics["perf/steps_per_s"], elapsed)
        return metrics

    @staticmethod
    def _metrics(train_stats, recent_returns, recent_success, episode_terms) -> dict:
        m = {f"train/{k}": float(v) for k, v in train_stats.items()}
        if recent_returns:
            m["episode/return"] = sum(recent_returns) / len(recent_returns)
        if recent_success:
            m["episode/success"] = sum(recent_success) / len(recent_success)
        for k, values in episode_terms.items():
            if k != "success":
                m[f"episode/{k}"] = sum(values) / len(values)
        m["episode/count"] = len(recent_returns)
        return m

    def _maybe_save_best(self, metrics: dict) -> None:
        key = "episode/success" if "episode/success" in metrics else "episode/return"
        if key in metrics and metrics.get("episode/count", 0) >= 20 and metrics[key] > self.best_metric:
            self.best_metric = metrics[key]
            self._save("best", metrics)

    def _save(self, which: str, metrics: dict) -> None:
        if self.run_dir is None or not self.is_main:
            return
        save_checkpoint(checkpoint_path(self.run_dir, which), self.algo, self.cfg, self.iteration, self.env_steps,
                        {**{k: v for k, v in metrics.items() if isinstance(v, (int, float))},
                         "best_metric": self.best_metric}, env_state=self._env_state())

    def _env_state(self) -> dict:
        adr = getattr(self.env, "adr", None)
        return {"adr": adr.state_dict()} if adr is not None else {}
