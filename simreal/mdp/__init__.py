"""Reusable MDP terms: pure functions of the env returning one tensor per env."""
