"""The vocabulary's dialects, kinds and sampler modes, in a module of their own: the CLI's choices need
the names, not the records (`iga_core.vocab.model`) or the tables."""

DIALECTS = ("a1111", "forge", "comfyui", "kdiffusion", "diffusers")
KINDS = ("sampler", "schedule")
MODES = ("ode", "ancestral", "sde")
