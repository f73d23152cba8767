"""The standalone app as a newcomer met it (issue #17 item 9), through its own wiring under both gradio
versions: the Guard box says when its answer no longer holds, the Recipes tab works on the checkpoint picked
at the top, Verify hashes says what it found, the table and the panel agree on the hash state, buttons with no
checkpoint selected say so, and Check logs what Generate would (the panel's Last decisions shows it)."""

from __future__ import annotations

import dataclasses

import pytest

from iga_core.decision_log import DecisionLog
from iga_core.ui.app import STALE, build_app, make_context
from iga_core.ui.local_models import LocalModels
from tests.browser.ui_events import Events
from tests.browser.ui_models import make_models

pytestmark = pytest.mark.ui


@pytest.fixture
def models(tmp_path):
    return make_models(tmp_path / "models")


class App(Events):
    def __init__(self, models, log_path=None):
        ctx = make_context(LocalModels(models), log_path=log_path)
        super().__init__(build_app(models, ctx=ctx))
        self.ctx = ctx

    def el(self, elem_id: str):
        return self.by_elem_id(elem_id)

    def pick(self, elem_id: str, value) -> None:
        self.set(self.el(elem_id), value)
        self.fire(self.el(elem_id))


def test_the_guard_box_says_when_its_answer_no_longer_holds(models):
    app = App(models)
    box = app.el("iga-app-check-result")
    app.pick("iga-app-checkpoint", "lightning.safetensors")
    app.pick("iga-app-sampler", "DDIM")
    app.fire(app.el("iga-app-check"), "click")
    assert "IGA-H001" in app.value(box)
    for elem_id, value in (("iga-app-steps", 6), ("iga-app-sampler", "Euler"), ("iga-app-prompt", "a cat"),
                           ("iga-app-checkpoint", "plain.safetensors")):  # fmt: skip
        app.pick(elem_id, value)
        assert app.value(box) == STALE, elem_id
    app.set(box, "")  # nothing checked yet: nothing to call stale
    app.pick("iga-app-steps", 7)
    assert app.value(box) == ""


def test_the_recipes_tab_works_on_the_checkpoint_picked_at_the_top(models):
    app = App(models)
    top, tab = app.el("iga-app-checkpoint"), app.el("iga-recipes-checkpoint")
    assert app.value(tab) == app.value(top)  # the first page shows one checkpoint, not two
    app.pick("iga-app-checkpoint", "lightning.safetensors")
    assert app.value(tab) == "lightning.safetensors"
    app.fire(tab)  # the browser then fires the tab's own change: it shows that checkpoint's recipe
    assert "test-lightning" in app.value(app.el("iga-recipes-details"))
    assert app.value(top) == "lightning.safetensors"  # and does not bounce back
    app.pick("iga-recipes-checkpoint", "plain.safetensors")  # picking in the tab picks at the top too
    assert app.value(top) == "plain.safetensors"


def test_verify_hashes_says_what_it_found_and_the_table_agrees(models):
    app = App(models)
    app.pick("iga-app-checkpoint", "lightning.safetensors")  # the panel verifies (first: hashes once)
    app.pick("iga-recipes-checkpoint", "lightning.safetensors")
    table = app.value(app.el("iga-recipes-table"))
    row = table[table.index("lightning.safetensors"):].split("</tr>")[0]
    assert "verified" in row and "unverified" not in table  # never "unverified" next to "hashes verified"
    before = app.value(app.el("iga-recipes-details"))
    app.fire(app.el("iga-recipes-verify"), "click")
    after = app.value(app.el("iga-recipes-details"))
    assert after != before and "Hashed just now: weights, tensor index, recipe digest match the recipe." in after
    app.pick("iga-recipes-checkpoint", "plain.safetensors")
    app.fire(app.el("iga-recipes-verify"), "click")
    assert "Nothing to verify: this checkpoint has no recipe." in app.value(app.el("iga-recipes-details"))


def test_buttons_with_no_checkpoint_selected_say_so(models):
    app = App(models)
    app.set(app.el("iga-recipes-checkpoint"), None)
    for button, out in (("iga-recipes-load-current", "iga-recipes-notes"), ("iga-recipes-reconstruct", "iga-recipes-notes"),
                        ("iga-recipes-verify", "iga-recipes-details"), ("iga-recipes-sidecar", "iga-recipes-result")):  # fmt: skip
        app.fire(app.el(button), "click")
        shown = app.value(app.el(out))
        assert "no checkpoint" in shown and "select" in shown.lower(), button
        assert "is not in the checkpoint list" not in shown, button


def test_check_logs_what_generate_would_and_last_decisions_shows_it(models, tmp_path):
    log = tmp_path / "decisions.jsonl"
    app = App(models, log_path=log)
    app.pick("iga-app-checkpoint", "lightning.safetensors")
    app.pick("iga-app-sampler", "DDIM")
    app.fire(app.el("iga-app-check"), "click")
    (entry,) = DecisionLog(log).tail(5).entries
    assert entry["kind"] == "block" and entry["checkpoint"]["name"] == "lightning.safetensors"
    assert entry["host"]["name"] == "iga ui" and any(f["rule_id"] == "IGA-H001" for f in entry["findings"])
    app.fire(app.el("iga-app-check-result"))  # the box changed: the panel re-reads the log
    assert "IGA-H001" in app.value(app.el("iga-txt2img-decisions"))
    app.pick("iga-app-sampler", "Euler")
    app.fire(app.el("iga-app-check"), "click")  # inside the recipe: nothing to log, as at Generate
    assert len(DecisionLog(log).tail(5).entries) == 1


def test_a_log_that_cannot_be_written_does_not_hide_the_verdict(models, tmp_path):
    def broken(entry):
        raise OSError(28, "No space left on device")

    app = App(models, log_path=tmp_path / "decisions.jsonl")
    app.ctx = dataclasses.replace(app.ctx, log_decision=broken)
    from iga_core.ui.app import check

    text = check(app.ctx, "lightning.safetensors", "{}", {"sampler": "DDIM", "steps": 4}, "x")
    assert "IGA-H001" in text and "the decision log could not be written" in text
