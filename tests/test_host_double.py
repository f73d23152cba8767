"""The host double behaves like the hosts where the glue depends on it (tests/host_double/sd_models.py cites
the lines): checkpoint lookup, selection without checkpoints, and when a checkpoint gets its hash."""

from __future__ import annotations

import pytest

from tests.factories import make_checkpoint
from tests.host_double.fixture import host  # noqa: F401 -- both hosts

pytestmark = pytest.mark.host


def test_a_checkpoint_has_no_shorthash_until_it_is_hashed(host):  # noqa: F811
    make_checkpoint(host.models / "a.safetensors", seed=1)
    host.refresh_checkpoints()
    info = host.m.sd_models.get_closet_checkpoint_match("a.safetensors")
    assert info.shorthash is None and info.sha256 is None and info.title == "a.safetensors"
    assert info.calculate_shorthash() == info.sha256[:10]
    assert info.title == f"a.safetensors [{info.shorthash}]"
    assert host.m.sd_models.get_closet_checkpoint_match(info.title) is info
    host.refresh_checkpoints()  # a re-list finds the hash in the host's cache (unchanged file)
    assert host.m.sd_models.get_closet_checkpoint_match("a").shorthash == info.shorthash


def test_loading_a_checkpoint_hashes_it(host):  # noqa: F811
    make_checkpoint(host.models / "a.safetensors", seed=1)
    host.start(select="a.safetensors")
    info = host.m.sd_models.get_closet_checkpoint_match("a.safetensors")
    if host.flavour.lazy_load:  # lazy: nothing loaded, nothing hashed before the first generation
        assert info.shorthash is None
    else:  # eager: the initial load hashed it
        assert info.shorthash and host.m.shared.sd_model.sd_model_hash == info.shorthash


def test_lookup_retries_without_the_checksum(host):  # noqa: F811
    make_checkpoint(host.models / "a.safetensors", seed=1)
    host.refresh_checkpoints()
    info = host.m.sd_models.get_closet_checkpoint_match("a.safetensors")
    # A fires the checkpoint change with "name [hash]" while the list knows the file by its bare title
    assert host.m.sd_models.get_closet_checkpoint_match("a.safetensors [0123456789]") is info
    assert host.m.sd_models.get_closet_checkpoint_match("missing.safetensors [0123456789]") is None


def test_selecting_with_no_checkpoint_differs_per_host(host):  # noqa: F811
    host.refresh_checkpoints()
    if host.flavour.lazy_load:  # F 241-243, Neo 201-203; A, Classic and reForge raise
        assert host.m.sd_models.select_checkpoint() is None
    else:
        with pytest.raises(FileNotFoundError):
            host.m.sd_models.select_checkpoint()


def test_the_glue_sees_no_selected_checkpoint_on_either_host(host):  # noqa: F811
    host.refresh_checkpoints()
    from iga_webui import host as glue_host

    assert glue_host.selected_checkpoint() is None
