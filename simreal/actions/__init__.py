"""Action types, each defined once: ``simreal.actions.<type>`` holds what the type means
on both sides of deployment.

An :class:`ActionType` carries the type's ``check(cfg)`` of an :class:`ActionCfg`, its
batched torch term (``term(env, cfg)``: what the simulator runs) and, when the type can run
on a robot, its numpy processor (``processor(spec)``: what the deployment node runs, the
same maths on one arm). A type that cannot deploy yet says why (``not_deployable``); the
tests hold every type to one or the other, and the two sides of a deployable type to
the same targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from simreal.errors import UnknownNameError


@dataclass(frozen=True)
class ActionType:
    name: str
    summary: str
    check: Callable  # check(cfg: ActionCfg) -> None, InputError naming the field
    term: Callable  # term(env, cfg) -> action term with reset(env_ids) / apply(actions)
    processor: Callable | None = None  # processor(spec, kinematics) -> reset / sync / process
    not_deployable: str | None = None  # why there is no processor yet
    tool_dims: int | None = None  # arm action columns of a tool-point type; None: one per arm joint


def _registry() -> dict[str, ActionType]:
    from simreal.actions import ee_pose_delta, joint_position, joint_position_delta

    types = [*joint_position_delta.TYPES, *joint_position.TYPES, *ee_pose_delta.TYPES]
    return {t.name: t for t in types}


def action_types() -> dict[str, ActionType]:
    """Every action type by name."""
    return _registry()


def action_type(name: str) -> ActionType:
    types = _registry()
    if name not in types:
        raise UnknownNameError(f"unknown action type {name!r}; action types: {sorted(types)}")
    return types[name]


def deployable_types() -> tuple[str, ...]:
    return tuple(name for name, t in _registry().items() if t.processor is not None)


def processor_for(spec, kinematics=None):
    """The robot-side processor of a DeploySpec's action type (an InputError saying why when
    the type cannot deploy). Tool-point types need ``kinematics``
    (:class:`simreal.deploy.kinematics.Kinematics`, the bundle's). Its ``process(action,
    joint_pos)`` takes the arm columns of one action and the measured joint positions."""
    from simreal.errors import InputError

    kind = action_type(spec.action.type)
    if kind.processor is None:
        raise InputError(kind.not_deployable)
    return kind.processor(spec, kinematics)
