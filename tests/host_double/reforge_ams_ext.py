"""A double of reForge's built-in "Advanced Model Sampling for reForge" script, to the extent IGA must see it
(extensions-builtin/reForge-advanced_model_sampling/scripts/advanced_model_sampling_script.py at 3b56b268):
an always-on script (`show()` AlwaysVisible, 194-195) titled "Advanced Model Sampling for reForge" (191-192)
whose `ui()` returns 16 values -- enabled, sampling mode, Discrete sampling type, Zero SNR, Continuous EDM
sampling type, then sigmas and shifts (280-346) -- and whose `process_before_every_sampling` (348-395), when
enabled, replaces the UNet's `model_sampling` with one of the chosen type. That happens inside `p.sample`
(reForge processing.py:1461-1465), after IGA's hand-over check: seen in a real reForge (docs/hosts.md, "Seen
in a real reForge"), where an eps model ran as v-prediction that way. Only the Discrete and Continuous V
modes' prediction mixin and the Discrete mode's Zero SNR sigmas are modelled (nodes_model_advanced.py:72-97,
200-212), in a class named `ModelSamplingAdvanced` as every mode's is; the script's update of
`sd_model.alphas_cumprod` (advanced_model_sampling_script.py:475-487) is not. Like the real script, the double
leaves its patch on the model after the run: reForge puts the clone's object patch on the model when it loads
it for sampling (ldm_patched/modules/model_patcher.py:710-715) and never takes it off, since the next request
loads the unpatched patcher of the same model and detaches the clone with unpatch_all=False
(model_management.py:649-655, model_patcher.py:856-860). Seen there: the next request without the script still
ran as v. Loading the checkpoint afresh (another one and back) clears it.
"""

from __future__ import annotations

import gradio as gr
from modules import scripts, sd_models


class Script(scripts.Script):
    sorting_priority = 15  # reForge 189

    def title(self):
        return "Advanced Model Sampling for reForge"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        return [gr.Checkbox(value=False), gr.Radio(["Discrete", "Continuous EDM", "Continuous V"], value="Discrete"),
                gr.Radio(["eps", "v_prediction", "lcm", "x0"], value="v_prediction"), gr.Checkbox(value=True),
                gr.Radio(["v_prediction", "edm_playground_v2.5", "eps"], value="v_prediction"),
                *[gr.Number(value=v) for v in (120.0, 0.002, 120.0, 0.002, 2.0, 3.0, 1.73, 1.15, 0.5, 1024, 1024)]]

    def process_before_every_sampling(self, p, *args, **kwargs):
        if len(args) < 16 or not args[0]:  # reForge 349-359
            return
        mode, discrete, zsnr = args[1], args[2], args[3]
        v = mode == "Continuous V" or (mode == "Discrete" and discrete == "v_prediction")
        mixin = sd_models.V_PREDICTION if v else sd_models.EPS

        class ModelSamplingAdvanced(sd_models.ModelSamplingDiscrete, mixin):  # nodes_model_advanced.py:89-90
            pass

        sampling = ModelSamplingAdvanced(prediction_type="v" if v else "eps")
        if mode == "Discrete" and zsnr:  # nodes_model_advanced.py:93-94
            sampling.set_sigmas(sd_models.rescale_zero_terminal_snr_sigmas(sampling.sigmas))
        p.sd_model.forge_objects.unet.model.model_sampling = sampling  # and left there (see above)
