"""The tensors themselves: marker tensors other tools add (`v_pred`, `ztsnr`, `edm_*`) and what the tensor
table says the file is (`iga_core.checkpoint.layout`: a checkpoint or a LoRA / embedding / VAE, the model
family, variant and size). Only the header is read, plus the few bytes of a marker value."""

from __future__ import annotations

from iga_core.checkpoint.layout import describe
from iga_core.recipe.aliases import family_info, variant_note
from iga_core.reconstruct.evidence import MODEL, Evidence

MARKERS = "marker-tensor"
LAYOUT = "tensor-layout"
_ADAPTERS = {"lora": "a LoRA-type network (LoRA, LyCORIS, OFT, …)", "textual-inversion": "a textual-inversion "
             "embedding", "vae": "a VAE"}  # fmt: skip


def collect(ctx) -> list[Evidence]:
    names = set(ctx.tensor_names)
    if not names:
        return []
    return _markers(ctx, names) + _layout(ctx)


def _markers(ctx, names: set[str]) -> list[Evidence]:
    out: list[Evidence] = []
    if "v_pred" in names:
        out.append(Evidence("/prediction_type", "v", MARKERS, "tensor 'v_pred' present", 0.95))
    if "ztsnr" in names:
        out.append(Evidence("/scheduler/zero_terminal_snr", True, MARKERS, "tensor 'ztsnr' present", 0.95))
    if "edm_vpred.sigma_max" in names or "edm_vpred.sigma_min" in names:
        out.append(Evidence("/prediction_type", "v", MARKERS, "tensors 'edm_vpred.*' present", 0.9))
        for bound in ("sigma_min", "sigma_max"):
            value = ctx.scalar(f"edm_vpred.{bound}")
            if value is not None and value > 0 and value == value and value < 1e6:
                out.append(Evidence(f"/scheduler/{bound}", round(value, 6), MARKERS,
                                    f"tensor 'edm_vpred.{bound}' = {value:g}", 0.9))  # fmt: skip
    if "edm_mean" in names or "edm_std" in names:
        ctx.findings.append("tensors 'edm_mean'/'edm_std': an EDM latent model (Playground v2.5 style); "
                            "the host needs EDM support, which the recipe cannot express")  # fmt: skip
        out.append(Evidence("/scheduler/sigma_min", 0.002, MARKERS, "EDM model (edm_mean/edm_std)", 0.6))
        out.append(Evidence("/scheduler/sigma_max", 80.0, MARKERS, "EDM model (edm_mean/edm_std)", 0.6))
    return out


def _layout(ctx) -> list[Evidence]:
    layout = describe(ctx.header.tensors)
    why = "; ".join(layout.why)
    out: list[Evidence] = []
    if layout.kind in _ADAPTERS:
        model = {"kind": layout.kind, **({"family": layout.family} if layout.family else {})}
        out.append(Evidence(MODEL, model, LAYOUT, why, 0.9))
        ctx.findings.append(f"{ctx.path.name} is {_ADAPTERS[layout.kind]}, not a full checkpoint ({layout.why[0]}): "
                            "a recipe for it is composed with the checkpoint's when it is used "
                            "(docs/composition.md); its model-level fields describe the model it was made for")  # fmt: skip
        if layout.family:
            out.append(Evidence("/architecture", family_info(layout.family)["architecture"], LAYOUT, why, 0.8))
        return out
    if layout.family is None:
        return out
    out.append(Evidence("/architecture", family_info(layout.family)["architecture"], LAYOUT, why, 0.85))
    model = {"kind": "checkpoint", "family": layout.family}
    model.update({k: v for k, v in (("variant", layout.variant), ("size", layout.size)) if v})
    out.append(Evidence(MODEL, model, LAYOUT, why, 0.85))
    if layout.variant and variant_note(layout.variant):
        ctx.findings.append(f"{ctx.path.name} is {variant_note(layout.variant)} ({why})")
    if layout.family == "flux" and layout.size == "schnell":
        # FLUX.1-dev embeds distilled guidance; schnell has no guidance input.
        out.append(Evidence("/cfg", {"default": 1.0, "min": 1.0, "max": 1.0}, LAYOUT,
                            "Flux without a guidance_in embedding (schnell-like)", 0.6))  # fmt: skip
        out.append(Evidence("/steps", {"default": 4, "min": 1, "max": 4}, LAYOUT,
                            "Flux without a guidance_in embedding (schnell-like)", 0.5))  # fmt: skip
    if layout.vae_embedded is True:
        out.append(Evidence("/vae/embedded", True, LAYOUT, "VAE weights inside the checkpoint", 0.8))
    elif layout.vae_embedded is False:
        out.append(Evidence("/vae/embedded", False, LAYOUT, "no VAE weights in the file", 0.7))
    return out
