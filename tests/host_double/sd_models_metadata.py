"""Faithful mirror of the hosts' safetensors metadata reader, to prove stamped files read back in the WebUI.

Source: AUTOMATIC1111/stable-diffusion-webui v1.10.1 `modules/sd_models.py:284-309`
(`read_metadata_from_safetensors`); Forge `modules/sd_models.py:260-285` is identical. Kept statement for
statement, including what matters for IGA:

- it asserts the header starts with `{"` or `{'` (compact JSON, no leading whitespace);
- it JSON-decodes only metadata string values that start with `{`, so our `iga` value becomes a dict;
- any error after the assert is *reported* and the function returns what it has so far (often `{}`), so a
  test must also check `errors.REPORTS` stays empty.
"""

from __future__ import annotations

import sys

from tests.host_double import errors as _own_errors


def _errors():
    # The host's `modules.errors` when the double is installed (sd_models.py uses this reader), so reports
    # land where the double's tests look; this package's own module when a test imports the reader directly.
    if getattr(sys.modules.get("modules"), "DOUBLE_HOST", None) is not None:
        from modules import errors

        return errors
    return _own_errors


def read_metadata_from_safetensors(filename):
    import json

    with open(filename, mode="rb") as file:
        metadata_len = file.read(8)
        metadata_len = int.from_bytes(metadata_len, "little")
        json_start = file.read(2)

        assert metadata_len > 2 and json_start in (b'{"', b"{'"), f"{filename} is not a safetensors file"

        res = {}

        try:
            json_data = json_start + file.read(metadata_len - 2)
            json_obj = json.loads(json_data)
            for k, v in json_obj.get("__metadata__", {}).items():
                res[k] = v
                if isinstance(v, str) and v[0:1] == "{":
                    try:  # noqa: SIM105 - kept as the host writes it
                        res[k] = json.loads(v)
                    except Exception:
                        pass
        except Exception:
            _errors().report(f"Error reading metadata from file: {filename}", exc_info=True)

        return res
