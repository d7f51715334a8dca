"""Compiling MJCF with errors that name the file: below every other simreal package
(robots, sim, twin and tasks all load models through it)."""

from __future__ import annotations

from pathlib import Path

import mujoco

from simreal.errors import SimrealError


class ModelError(SimrealError):
    """An MJCF that MuJoCo could not load or compile."""


def compile_mjcf(source) -> mujoco.MjModel:
    """Compile an MJCF file path, an XML string or a ``mujoco.MjSpec``.

    Raises ModelError naming the file and MuJoCo's own message.
    """
    origin = "<MjSpec>"
    try:
        if isinstance(source, mujoco.MjSpec):
            return source.compile()
        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("<")):
            origin = str(source)
            if not Path(source).is_file():
                raise ModelError(f"MJCF file {origin} does not exist")
            return mujoco.MjModel.from_xml_path(str(source))
        origin = "<XML string>"
        return mujoco.MjModel.from_xml_string(source)
    except ModelError:
        raise
    except Exception as err:  # MuJoCo raises ValueError with its compiler message
        raise ModelError(f"MuJoCo could not compile {origin}: {err}") from err
