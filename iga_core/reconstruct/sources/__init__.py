"""Every source of legacy evidence, one module each, one calling convention: `collect(ctx) -> list[Evidence]`.

A source reads only what it names, never raises for a bad or missing input (it adds a finding to
`ctx.findings` instead), and never executes anything it reads.
"""

from __future__ import annotations

from iga_core.reconstruct.sources import (
    civitai,
    diffusers_files,
    filename,
    kohya,
    modelspec,
    tensors,
    user_metadata,
    yaml_config,
)

# Order only breaks ties between equally confident evidence: earlier wins.
SOURCES = (tensors, modelspec, yaml_config, diffusers_files, kohya, user_metadata, civitai, filename)
