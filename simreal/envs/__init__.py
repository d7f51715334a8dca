"""Batched environments over a simulation backend (rsl_rl VecEnv contract)."""

from simreal.envs.config import ActionCfg, EnvCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm, TerminationTerm
from simreal.envs.env import ManipulationEnv

__all__ = ["ActionCfg", "EnvCfg", "EventTerm", "ManipulationEnv", "ObsGroupCfg", "ObsTerm", "RewardTerm",
           "TerminationTerm"]
