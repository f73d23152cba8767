"""The vocabulary's dialects, kinds and sampler modes, in a module of their own: the CLI's choices need
the names, not the records (`iga_core.vocab.model`) or the tables."""

DIALECTS = ("a1111", "forge", "comfyui", "swarmui", "kdiffusion", "diffusers")
DIALECT_TITLES = {"a1111": "A1111", "forge": "Forge", "comfyui": "ComfyUI", "swarmui": "SwarmUI",
                  "kdiffusion": "k-diffusion", "diffusers": "diffusers"}
#: the dialect whose semantics the records' own fields describe (the WebUI hosts this extension runs in)
HOST_DIALECT = "a1111"
KINDS = ("sampler", "schedule")
MODES = ("ode", "ancestral", "sde")
