"""Client strategies: sans-I/O token and retry policies, and their drivers."""
