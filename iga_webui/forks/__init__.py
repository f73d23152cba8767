"""The forks' differences, one module per difference, each with the variants the hosts need.

`iga_webui/hosts.json` names, per host, the variant of each difference; `iga_webui.host.glue(difference)`
returns it, so no module asks which fork it runs on. A variant reaches the host only through
`iga_webui.host` (the one door), and each cites the host lines it relies on (docs/hosts.md).

| module | difference | variants |
|---|---|---|
| `vae` | how the VAE is chosen and read | `sd_vae` (A1111, Classic, reForge), `modules` (Forge, Neo) |
| `prediction` | prediction type and zero terminal SNR of the loaded model | `ldm_config`, `forge_predictor`, `ldm_patched_sampling`, `reforge_model_sampling` |
| `architecture` | the loaded model's architecture | `model_flags`, `engine_class` |
| `top_bar` | where the checkpoint / clip-skip controls are | `quicksettings`, `forge_main_entry` |
| `guidance` | what `p.distilled_cfg_scale` means | `cfg_only`, `distilled`, `distilled_or_shift` |
| `hires_cfg` | the hires pass's own CFG | `none`, `hr_cfg`, `hr_cfg_scale` |
| `controlnet` | which ControlNet runs (a unit's default `enabled`) | `extension` (A1111), `integrated` (the forks) |
| `callbacks` | whether `script_callbacks.on_*` take `name=` | `named` (A1111, Forge, Neo, reForge), `positional` (Classic) |
| `main_thread` | what the host's main thread does with a failed UI generation | `none` (A1111), `keeps_error` (Forge, Neo), `drops_error` (reForge, Classic: IGA re-raises its refusal) |
| `schedule_control` | whether the page has a schedule type control | `dropdown` (A1111, Forge, Neo, reForge), `setting` (Classic: "Display the Scheduler Dropdown") |
"""

DIFFERENCES = ("vae", "prediction", "architecture", "top_bar", "guidance", "hires_cfg", "controlnet", "callbacks",
               "main_thread", "schedule_control")
