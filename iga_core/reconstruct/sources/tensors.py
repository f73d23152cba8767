"""The tensors themselves: marker tensors other tools add (`v_pred`, `ztsnr`, `edm_*`) and the model
family read from tensor names and shapes. Only the header is read, plus the few bytes of a marker value."""

from __future__ import annotations

from iga_core.reconstruct.evidence import Evidence

MARKERS = "marker-tensor"
LAYOUT = "tensor-layout"

# Cross-attention context width of the UNet's first attention block: 768 (CLIP-L) SD1, 1024 (OpenCLIP-H)
# SD2, 2048 (CLIP-L + OpenCLIP-bigG) SDXL.
_CONTEXT_WIDTH = {768: "sd1", 1024: "sd2", 2048: "sdxl"}
_CROSS_ATTN_KEYS = (
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",  # SD1/SD2 single file
    "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight",  # SDXL single file
    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",  # diffusers UNet
    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",  # diffusers SDXL UNet
)


def collect(ctx) -> list[Evidence]:
    names = set(ctx.tensor_names)
    if not names:
        return []
    return _markers(ctx, names) + _layout(ctx, names)


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


def _has_prefix(names: set[str], *prefixes: str) -> bool:
    return any(n.startswith(prefixes) for n in names)


def family(names: set[str], shape) -> tuple[str | None, str]:
    """(architecture, why) read from tensor names and the shape of a cross-attention weight (`shape(name)`
    -> tuple or None); (None, "") when the names fit no known family. Also what the WebUI glue reads a
    hires or refiner checkpoint's architecture by before the host loads it."""
    if _has_prefix(names, "double_blocks.", "model.diffusion_model.double_blocks."):
        return "flux", "Flux double_blocks.*"
    if _has_prefix(names, "joint_blocks.", "model.diffusion_model.joint_blocks."):
        return "sd3", "MMDiT joint_blocks.*"
    if _has_prefix(names, "conditioner.embedders.") or "model.diffusion_model.label_emb.0.0.weight" in names:
        return "sdxl", "SDXL conditioner.embedders.* / label_emb"
    if _has_prefix(names, "cond_stage_model.model.transformer.resblocks."):
        return "sd2", "OpenCLIP text encoder (cond_stage_model.model.*)"
    for key in _CROSS_ATTN_KEYS:
        dims = shape(key)
        if dims and len(dims) == 2 and dims[-1] in _CONTEXT_WIDTH:
            return _CONTEXT_WIDTH[dims[-1]], f"cross-attention context width {dims[-1]} ({key})"
    if _has_prefix(names, "cond_stage_model.transformer.text_model."):
        return "sd1", "CLIP-L text encoder (cond_stage_model.transformer.*)"
    return None, ""


def _layout(ctx, names: set[str]) -> list[Evidence]:
    out: list[Evidence] = []
    family_, why = family(names, ctx.shape)
    if family_ == "flux" and not _has_prefix(names, "guidance_in.", "model.diffusion_model.guidance_in."):
        # FLUX.1-dev embeds distilled guidance; schnell has no guidance input.
        out.append(Evidence("/cfg", {"default": 1.0, "min": 1.0, "max": 1.0}, LAYOUT,
                            "Flux without a guidance_in embedding (schnell-like)", 0.6))  # fmt: skip
        out.append(Evidence("/steps", {"default": 4, "min": 1, "max": 4}, LAYOUT,
                            "Flux without a guidance_in embedding (schnell-like)", 0.5))  # fmt: skip
    if family_:
        out.append(Evidence("/architecture", family_, LAYOUT, why, 0.85))
    if _has_prefix(names, "first_stage_model.", "vae.", "encoder.down.", "decoder.up."):
        out.append(Evidence("/vae/embedded", True, LAYOUT, "VAE weights inside the checkpoint", 0.8))
    elif family_ and _has_prefix(names, "model.diffusion_model.", "down_blocks."):
        out.append(Evidence("/vae/embedded", False, LAYOUT, "no VAE weights in the file", 0.7))
    return out
