"""Mirror of modules/sd_vae.py (A1111): `vae_dict` maps VAE file basenames to paths, built from models/VAE by
`refresh_vae_list` (A sd_vae.py:72-106); an `sd_vae` override loads it (A processing.py:838-839) and
`p.sd_vae_name` is then its basename (A 892-893; None = the VAE baked into the checkpoint). Forge keeps the
module but stubs the loading (F sd_vae.py:189-210)."""

import os

from modules import paths

vae_dict = {}
loaded_vae_file = None


def refresh_vae_list():
    vae_dict.clear()
    folder = os.path.join(paths.models_path, "VAE")
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith((".pt", ".ckpt", ".safetensors")):
                vae_dict[name] = os.path.join(folder, name)
