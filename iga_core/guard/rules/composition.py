"""IGA-M…: what composing add-on (LoRA) recipes with the checkpoint's found. `iga_core.compose` mints these;
the judge weighs them with the request's findings under the same policy (docs/composition.md)."""

from __future__ import annotations

from iga_core.guard.rules import finding_rule

REPLACE_REMEDY = "activate one distillation add-on at a time"

finding_rule("IGA-M001", "composition", "hard", ("prediction_type",),
             title="an add-on's prediction type differs from the base's (made for another model)",
             remedy="use a version of the add-on made for this model")
finding_rule("IGA-M002", "composition", "hard", ("architecture",),
             title="an add-on's architecture differs from the base's (an SD 1.5 LoRA on SDXL)",
             remedy="use a version of the add-on made for this model")
finding_rule("IGA-M003", "composition", "hard", ("sampler",),
             title="two active distillation add-ons sample differently; the heavier one governs",
             remedy=REPLACE_REMEDY)
finding_rule("IGA-M004", "composition", "hard", ("steps", "cfg", "distilled_cfg", "sampler", "schedule"),
             title="the active recipes allow no common steps, CFG, sampler or schedule",
             remedy="deactivate the add-on or use one made for this model")
finding_rule("IGA-M005", "composition", "info", ("steps", "cfg", "distilled_cfg", "sampler", "schedule"),
             title="a default moved into the narrowed range, or to a sampler or schedule every recipe allows",
             remedy="nothing to do; the composed default is inside every active recipe")
finding_rule("IGA-M006", "composition", "info", ("sampler", "schedule", "steps", "cfg"),
             title="a distillation add-on replaced the base's sampling recipe",
             remedy="nothing to do; the add-on's recipe governs sampling while it is active")
finding_rule("IGA-M007", "composition", "soft", ("clip_skip", "vae"),
             title="an add-on declares another clip skip or VAE; the base's is kept",
             remedy="nothing required; set it by hand if the add-on's author recommends it")
finding_rule("IGA-M009", "composition", "info", ("presets",),
             title="a base preset does not fit the composed recipe and is not offered",
             remedy="nothing to do; Native and the remaining presets fit")
finding_rule("IGA-M010", "composition", "soft", ("addons",),
             title="an add-on's recipe is invalid and is ignored",
             remedy="fix or remove the add-on's recipe (`iga validate`)")
