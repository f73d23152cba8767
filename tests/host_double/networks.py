"""Mirror of the built-in LoRA extension's `networks` module (A extensions-builtin/Lora/networks.py:
640-690; F extensions-builtin/sd_forge_lora/networks.py:651-690): `list_available_networks()` walks
`cmd_opts.lora_dir` for .pt/.ckpt/.safetensors and fills `available_networks` (file name -> NetworkOnDisk
with `.filename`) and `available_network_aliases` (name and alias); an alias two files share goes into
`forbidden_network_aliases`, and a prompt tag naming one is looked up by file name only (A networks.py:
294-308, 666-672, 679-684; F networks.py:79-90, 148, 161-163). The alias is the safetensors metadata's
`ss_output_name`, else the file name (A network.py:28-49). Installed as the top-level module `networks`,
as the hosts have it."""

from __future__ import annotations

import os

from modules import sd_models, shared

available_networks: dict = {}
available_network_aliases: dict = {}
forbidden_network_aliases: dict = {}


class NetworkOnDisk:  # A extensions-builtin/Lora/network.py:24-60
    def __init__(self, name, filename):
        self.name = name
        self.filename = filename
        self.is_safetensors = os.path.splitext(filename)[1].lower() == ".safetensors"
        self.metadata = sd_models.read_metadata_from_safetensors(filename) if self.is_safetensors else {}
        self.alias = (self.metadata or {}).get("ss_output_name", self.name)


def list_available_networks():
    available_networks.clear()
    available_network_aliases.clear()
    forbidden_network_aliases.clear()
    forbidden_network_aliases.update({"none": 1, "Addams": 1})
    os.makedirs(shared.cmd_opts.lora_dir, exist_ok=True)
    for root, _dirs, files in os.walk(shared.cmd_opts.lora_dir):
        for fn in sorted(files):
            if os.path.splitext(fn)[1].lower() not in (".pt", ".ckpt", ".safetensors"):
                continue
            name = os.path.splitext(fn)[0]
            entry = NetworkOnDisk(name, os.path.join(root, fn))
            available_networks[name] = entry
            if entry.alias in available_network_aliases:
                forbidden_network_aliases[entry.alias.lower()] = 1
            available_network_aliases[name] = entry
            available_network_aliases[entry.alias] = entry
