"""Policy bundles: write (ONNX with the normalizer inside, TorchScript, deploy.yaml,
parity set), load with a parity check, and import rsl_rl checkpoints.

Importing this package does not import torch; only writing a bundle does.
"""

from simreal.export.bundle import Bundle, BundleError, ParityError, load_bundle, write_bundle

__all__ = ["Bundle", "BundleError", "ParityError", "load_bundle", "write_bundle"]
