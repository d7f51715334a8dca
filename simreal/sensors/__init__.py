"""Simulated sensors that sit on top of the batched physics state."""
