"""Checkpoint files: the safetensors header reader and writer, tensor hashing, stamping, atomic writes,
recipe lookup (embedded > sidecar > registry > reconstructed) and the registry of recipes for files that
are not modified. Import the module you need (`iga_core.checkpoint.stamp`, ...); this package exports
nothing itself so a light command does not pay for the heavy ones."""
