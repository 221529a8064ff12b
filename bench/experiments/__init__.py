"""Experiments: YAML configs expanded into runs (sweeps), executed locally or on Slurm, reported."""
