"""IGA-H007 / IGA-H008: the model the host loaded does not fit the recipe.

Both read host facts the WebUI glue puts on the request (`GuardRequest.zero_terminal_snr`,
`architecture`, `upstream_architecture`); a request without them (the CLI, the panel preview) is not
checked. Remedies name the host's own setting when the request says which host runs it (`host`).
"""

from __future__ import annotations

from iga_core.guard import host_settings
from iga_core.guard.rules import Observation, rule

#: architectures whose latents another can continue (same VAE latent space); None = not comparable. Forge Neo's
#: latent formats (as nolanlane/sd-webui-forge-classic 3df257a, modules_forge/packages/huggingface_guess/
#: model_list.py): Flux for Flux, Chroma (a FluxSchnell, 337), Lumina 2 (382) and Z-Image (a Lumina2, 404);
#: Flux2 for Klein (298, 324); Wan21 for Anima (444), Wan (469) and Qwen-Image (516)
LATENT_SPACE = {"sd1": "SD 1.x/2.x", "sd2": "SD 1.x/2.x", "sdxl": "SDXL", "sd3": "SD3", "flux": "Flux",
                "chroma": "Flux", "lumina": "Flux", "z-image": "Flux", "flux2": "FLUX.2",
                "qwen-image": "Wan 2.1", "wan": "Wan 2.1", "anima": "Wan 2.1"}


@rule("IGA-H007", "hard", ("zero_terminal_snr", "host"),
      title="the host's noise schedule differs from the recipe's zero-terminal-SNR setting",
      remedy="set the host's noise schedule to the recipe's (A1111/Forge: Settings → Sampler parameters → "
             "Noise schedule for sampling)")
def noise_schedule(ctx):
    """A zero-terminal-SNR model sampled on the default schedule never starts from pure noise (washed-out,
    grey images), and the reverse burns; checked when the recipe states `scheduler.zero_terminal_snr`."""
    wanted = ctx.recipe.scheduler.zero_terminal_snr
    have = ctx.request.zero_terminal_snr
    if not isinstance(wanted, bool) or have is None or have == wanted:
        return
    name = "Zero Terminal SNR" if wanted else "Default"
    yield Observation("zero_terminal_snr", wanted, have,
                      f"this model needs the {'zero-terminal-SNR' if wanted else 'default'} noise schedule, but "
                      f"the host will sample it with the {'zero-terminal-SNR' if have else 'default'} one",
                      host_settings.remedy(ctx.request.host, "IGA-H007", wanted) or f"set the noise schedule to {name}",
                      {"zero_terminal_snr": wanted})


@rule("IGA-H008", "hard", ("architecture", "upstream_architecture"),
      title="checkpoint architecture differs from the recipe's, or a hires/refiner pass continues another "
            "architecture's latents",
      remedy="use a checkpoint of the recipe's architecture; pick a hires/refiner checkpoint of the first "
             "pass's architecture")
def architecture(ctx):
    """A recipe stamped for SDXL on an SD 1.5 checkpoint describes another model; an SD 1.5 refiner or hires
    checkpoint after an SDXL first pass decodes latents from another latent space (noise)."""
    have, upstream = ctx.request.architecture, ctx.request.upstream_architecture
    wanted = ctx.recipe.architecture
    if have in LATENT_SPACE and upstream in LATENT_SPACE and LATENT_SPACE[have] != LATENT_SPACE[upstream]:
        # the one problem of this pass: its checkpoint is not of the first pass's kind (what its recipe says
        # follows from that and is not a second finding)
        yield Observation("upstream_architecture", upstream, have,
                          f"this pass's checkpoint is {have} but it continues {upstream} latents "
                          f"({LATENT_SPACE[upstream]} and {LATENT_SPACE[have]} latents are not interchangeable)",
                          f"use a {upstream} checkpoint for this pass", {"architecture": upstream})
        return
    if have in LATENT_SPACE and wanted in LATENT_SPACE and have != wanted:
        yield Observation("architecture", wanted, have,
                          f"the recipe is for {wanted}, but the host loaded this checkpoint as {have}",
                          f"use a {wanted} checkpoint", {"architecture": wanted})
