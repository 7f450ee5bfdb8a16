"""Every command module, imported so that each registers itself on ``app``."""
