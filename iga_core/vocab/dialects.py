"""The vocabulary's dialects, kinds and sampler modes, in a module of their own: the CLI's choices need
the names, not the records (`iga_core.vocab.model`) or the tables."""

DIALECTS = ("a1111", "forge", "comfyui", "swarmui", "kdiffusion", "diffusers")
DIALECT_TITLES = {"a1111": "A1111", "forge": "Forge", "comfyui": "ComfyUI", "swarmui": "SwarmUI",
                  "kdiffusion": "k-diffusion", "diffusers": "diffusers"}
#: the dialect whose semantics the records' own fields describe (the WebUI hosts this extension runs in)
HOST_DIALECT = "a1111"
#: hosts that spell sampler names as a dialect does but run some of them differently: semantics only (their
#: names are the dialect's). Keys are iga_webui/hosts.json keys. Forge Classic and Forge Neo run UniPC as a
#: k-diffusion sampler on the chosen schedule's sigmas, and Neo runs LCM without A1111's 50-step table
#: (samplers.json "semantics"; docs/hosts.md section 5)
HOST_VARIANTS = {"forge-classic": "forge", "forge-neo": "forge"}
HOST_VARIANT_TITLES = {"forge-classic": "Forge Classic", "forge-neo": "Forge Neo"}
#: every key a sampler's semantics are recorded under: the dialects, then the host variants
SEMANTICS_KEYS = (*DIALECTS, *HOST_VARIANTS)
KINDS = ("sampler", "schedule")
MODES = ("ode", "ancestral", "sde")
