"""dlrig: plan, check and provision deep-learning workstations."""

__version__ = "0.1.0"
