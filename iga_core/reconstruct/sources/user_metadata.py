"""The host's user-metadata sidecar `<checkpoint>.json` (Extra Networks "Edit metadata"): the preferred
VAE (A1111 `vae`, Forge `vae_te`) and Forge's `sd_version_str`."""

from __future__ import annotations

from iga_core.recipe.aliases import normalize_architecture
from iga_core.reconstruct.evidence import Evidence

SOURCE = "user-metadata"
_NOT_A_CHOICE = {"", "automatic", "none"}


def collect(ctx) -> list[Evidence]:
    path = ctx.beside(".json")
    data = ctx.read_json(path)
    if not isinstance(data, dict):
        return []
    out: list[Evidence] = []
    vae = data.get("vae")
    if isinstance(vae, str) and vae.strip().lower() not in _NOT_A_CHOICE:
        out.append(Evidence("/vae/id", vae.strip()[:200], SOURCE, f"{path.name}: vae = {vae!r}", 0.7))
    modules = data.get("vae_te")
    if isinstance(modules, list):
        names = [m for m in modules if isinstance(m, str) and m.strip()]
        vaes = [m for m in names if "vae" in m.lower() or m.lower().startswith("ae.")]
        if vaes:
            out.append(Evidence("/vae/id", vaes[0][:200], SOURCE, f"{path.name}: vae_te = {names!r}", 0.7))
    version = data.get("sd_version_str")
    if isinstance(version, str):
        family = normalize_architecture(version.rsplit(".", 1)[-1])  # "SdVersion.SDXL" -> "SDXL"
        if family and family != "other":
            out.append(
                Evidence("/architecture", family, SOURCE, f"{path.name}: sd_version_str = {version!r}", 0.6)
            )
    return out
