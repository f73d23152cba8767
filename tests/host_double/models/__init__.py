"""modules/models (only the UniPC package the samplers use)."""
