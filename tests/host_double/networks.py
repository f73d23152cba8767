"""Mirror of the built-in LoRA extension's `networks` module (A extensions-builtin/Lora/networks.py:
640-690; F extensions-builtin/sd_forge_lora/networks.py:651-690): `list_available_networks()` walks
`cmd_opts.lora_dir` for .pt/.ckpt/.safetensors and fills `available_network_aliases` (name and alias ->
NetworkOnDisk with `.filename`). Installed as the top-level module `networks`, as the hosts have it."""

from __future__ import annotations

import os

from modules import shared

available_networks: dict = {}
available_network_aliases: dict = {}


class NetworkOnDisk:  # A extensions-builtin/Lora/network.py:24-60
    def __init__(self, name, filename):
        self.name = name
        self.filename = filename
        self.alias = name
        self.is_safetensors = os.path.splitext(filename)[1].lower() == ".safetensors"


def list_available_networks():
    available_networks.clear()
    available_network_aliases.clear()
    os.makedirs(shared.cmd_opts.lora_dir, exist_ok=True)
    for root, _dirs, files in os.walk(shared.cmd_opts.lora_dir):
        for fn in sorted(files):
            if os.path.splitext(fn)[1].lower() not in (".pt", ".ckpt", ".safetensors"):
                continue
            name = os.path.splitext(fn)[0]
            entry = NetworkOnDisk(name, os.path.join(root, fn))
            available_networks[name] = entry
            available_network_aliases[name] = entry
            available_network_aliases[entry.alias] = entry
