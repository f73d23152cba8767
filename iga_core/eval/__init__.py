"""Evaluation: the reproducibility protocol, consistency metrics, reports, and an analytic reference model.

For a host (the WebUI "IGA consistency report" script) only numpy, the guard and Pillow are needed:

    from iga_core.eval.protocol import ProtocolConfig, run_protocol
    from iga_core.eval.report import write_report

    config = ProtocolConfig.from_dict({"axis": "sampler", "values": [...], "seeds": [0, 1, 2, 3],
                                       "base": {"prompt": ..., "width": ..., "height": ..., "vae": ...}})
    result = run_protocol(generate, config, recipe, progress=on_progress, should_stop=interrupted)
    paths = write_report([result], out_dir, title="IGA consistency report")

`generate(params) -> HxWx3 image` is the host's own generation call. The reference model
(`reference_model`, `reference_sampling`, `reference_scores`, `demo`) additionally needs torch and
diffusers; nothing here imports them until those modules are used.
"""
