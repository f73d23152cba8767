"""A third-party infotext reader (sd-parsers) still reads images we wrote: the host's fields intact, the IGA
fields visible, the audit record neither hiding nor confusing them."""

from __future__ import annotations

import pytest

sd_parsers = pytest.importorskip("sd_parsers")

from iga_core.audit.image_meta import write_image_metadata  # noqa: E402
from tests.test_image_meta import FORMATS, host_save, make_infotext, make_record, webui  # noqa: E402, F401


@pytest.mark.parametrize("ext", FORMATS)
def test_sd_parsers_reads_host_fields_and_iga_fields(webui, tmp_path, ext):  # noqa: F811
    record = make_record(preset="Fast, 4: steps")
    path = host_save(webui, tmp_path / f"img.{ext}", make_infotext(record))
    write_image_metadata(path, record)
    info = sd_parsers.ParserManager().parse(path)
    assert info is not None and info.generator.name == "AUTOMATIC1111"
    (sampler,) = info.samplers
    assert sampler.name == "Euler"
    assert sampler.parameters["seed"] == "1234" and sampler.parameters["steps"] == "4"
    assert sampler.parameters["cfg_scale"] == "1.0" and sampler.parameters["scheduler"] == "SGM Uniform"
    assert sampler.model.name == "lightning" and sampler.model.hash == "0123456789"
    assert [p.value for p in sampler.prompts] == ["a cat, masterpiece: 1.2"]
    assert [p.value for p in sampler.negative_prompts] == ["ugly, blurry"]
    # our short fields are visible as metadata (sd-parsers splits naively on "," and ":", so the comma-free
    # status and digest come through exactly)
    assert info.metadata["IGA"] == "v1 standard unchecked"
    assert info.metadata["IGA recipe"] == record["recipe"]["digest"][:12]
    assert info.metadata["Version"] == "v1.10.1"
