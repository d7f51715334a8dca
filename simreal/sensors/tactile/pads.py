"""Gel pads on the Franka Panda's fingers, with compliant contact, for tactile sensing.

The pad is ``assets/tactile/gel_pad.xml`` (project-made), attached to each finger body
with MjSpec. Its compliant contact is MuJoCo's direct solref (-stiffness, -damping):
MuJoCo's direct stiffness is per unit of effective mass, so the physical pad stiffness
(N/mm; TacSL calibrated 200-300 and randomized over [150, 350]) is divided by a
reference mass, the mass of the part the fingers hold.

Units: TacSL's 200-300 are its simulator's own compliance units. Here the stiffness is
in N/mm; 2.5 N/mm (randomized over [1.5, 3.5], TacSL's relative range) holds a 30 g peg
without creep at MuJoCo's 2 ms step, while 25 N/mm and above throws it out (contact
period shorter than the step) and 0.25 N/mm lets it slide through.
"""

from __future__ import annotations

import mujoco

from simreal.data import data_path
from simreal.errors import InputError
from simreal.sim.scene import ModelError

PANDA_FINGERS = ("left_finger", "right_finger")  # Menagerie panda.xml


def pad_solref(stiffness_n_per_mm: float, damping_n_s_per_m: float, ref_mass_kg: float) -> tuple[float, float]:
    """MuJoCo direct solref (-k, -b) for a pad of physical stiffness and damping."""
    if stiffness_n_per_mm <= 0 or damping_n_s_per_m < 0 or ref_mass_kg <= 0:
        raise InputError(f"pad stiffness and reference mass must be positive, damping >= 0; got "
                         f"{stiffness_n_per_mm}, {damping_n_s_per_m}, {ref_mass_kg}")
    return (-stiffness_n_per_mm * 1e3 / ref_mass_kg, -damping_n_s_per_m / ref_mass_kg)


def add_gel_pads(spec: mujoco.MjSpec, fingers=PANDA_FINGERS, stiffness_n_per_mm: float = 2.5,
                 damping_n_s_per_m: float = 20.0, ref_mass_kg: float = 0.05, replace_finger_collisions: bool = True
                 ) -> list[str]:
    """Attach a gel pad to each finger body of ``spec``; return the sensor site names
    (``<finger>/sensor``) in finger order. Geoms are named ``<finger>/gel``.

    replace_finger_collisions: the pads replace the fingers' own collision geoms (as a
    GelSight sensor replaces the fingertip), so a held part touches only the gels.
    """
    solref = pad_solref(stiffness_n_per_mm, damping_n_s_per_m, ref_mass_kg)
    sites = []
    for finger in fingers:
        body = spec.body(finger)
        if body is None:
            raise ModelError(f"cannot attach a gel pad: the model has no body {finger!r}")
        if replace_finger_collisions:
            for geom in body.geoms:
                geom.contype = 0
                geom.conaffinity = 0
        pad = mujoco.MjSpec.from_file(str(data_path("assets", "tactile", "gel_pad.xml")))
        pad.geom("gel").solref = list(solref)
        frame = body.add_frame()
        frame.attach_body(pad.body("pad"), f"{finger}/", "")
        sites.append(f"{finger}/sensor")
    return sites
