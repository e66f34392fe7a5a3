"""The status widget's Cancel button, with feedback drawn in the browser at click time.

A click on an ipywidgets ``Button`` reaches the kernel as a message on the shell
channel, which the kernel reads only between cells: while a cell blocks
(``time.sleep``, a long computation) nothing at all happens, and people click
again. So the button needs state of its own in the frontend: this is a small
anywidget (plain ES module, no build step). At the click the browser disables
the button and says the cancel is requested; when no answer has come a moment
later, that the kernel is busy and the cancel will be sent when the cell
finishes. The kernel performs the cancel when the message arrives and reports
the real outcome through ``answered`` and ``feedback``.

The message is ``{"event": "click"}``, as an ipywidgets ``Button`` sends, so a
frontend (or a test) that clicks buttons that way clicks this one too. Traits are
written by one thread only, the runtime's loop thread, like the rest of the widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

REQUESTED_TEXT = "cancel requested…"
BUSY_TEXT = "cancel requested: the kernel is busy, it will be sent when the cell finishes"
BUSY_AFTER_MS = 400
"""How long the kernel may take to answer a click before the browser calls it busy."""

_ESM = """
export default {
  render({ model, el }) {
    el.classList.add("odyssey-cancel-control");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "odyssey-cancel-button";
    const icon = document.createElement("i");
    icon.className = "fa fa-stop";
    const label = document.createElement("span");
    button.append(icon, label);
    const note = document.createElement("span");
    note.className = "odyssey-cancel-feedback";
    note.setAttribute("role", "status");
    el.append(button, note);
    let waitingSince = null;  // the "answered" count at a click the kernel has not read yet
    let waitingText = "";
    let timer = null;
    const draw = () => {
      el.style.display = model.get("hidden") ? "none" : "";
      label.textContent = " " + model.get("description");
      button.title = model.get("tooltip");
      button.disabled = model.get("disabled") || waitingSince !== null;
      note.textContent = waitingSince !== null ? waitingText : model.get("feedback");
      el.classList.toggle("odyssey-cancel-waiting", waitingSince !== null);
    };
    button.addEventListener("click", () => {
      if (button.disabled) return;
      waitingSince = model.get("answered");
      waitingText = model.get("requested_text");
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (waitingSince === null) return;
        waitingText = model.get("busy_text");
        draw();
      }, model.get("busy_after_ms"));
      model.send({ event: "click" });
      draw();
    });
    const answered = () => {
      if (waitingSince !== null && model.get("answered") !== waitingSince) {
        waitingSince = null;
        clearTimeout(timer);
      }
      draw();
    };
    model.on("change:answered", answered);
    for (const name of ["description", "tooltip", "disabled", "hidden", "feedback"]) {
      model.on("change:" + name, draw);
    }
    draw();
    return () => clearTimeout(timer);
  },
};
"""

_CSS = """
.odyssey-cancel-control {
  display: inline-flex;
  flex-direction: column;
  align-items: flex-end;
  gap: 4px;
}
.odyssey-cancel-control .odyssey-cancel-button {
  font: inherit;
  font-size: var(--jp-widgets-font-size, 13px);
  height: var(--jp-widgets-inline-height, 28px);
  padding: 0 12px;
  cursor: pointer;
  color: var(--jp-ui-font-color1, #212121);
  background: var(--jp-layout-color2, #eeeeee);
  border: 1px solid var(--jp-border-color2, #bdbdbd);
  border-radius: var(--jp-border-radius, 2px);
}
.odyssey-cancel-control .odyssey-cancel-button:hover:enabled {
  background: var(--jp-layout-color3, #e0e0e0);
}
.odyssey-cancel-control .odyssey-cancel-button:disabled { opacity: 0.6; cursor: default; }
.odyssey-cancel-control .odyssey-cancel-feedback {
  max-width: 22em;
  text-align: right;
  color: var(--jp-ui-font-color2, #616161);
  font-size: var(--jp-ui-font-size1, 13px);
}
.odyssey-cancel-control .odyssey-cancel-feedback:empty { display: none; }
.odyssey-cancel-control.odyssey-cancel-waiting .odyssey-cancel-feedback {
  color: var(--jp-warn-color1, #ef6c00);
}
"""


class CancelControl(anywidget.AnyWidget):
    """A Cancel button whose click shows at once in the browser, busy kernel or not.

    ``hidden`` removes it from view (a finished job shows no Cancel button);
    ``disabled`` stays the honest state of the action for anything reading traits.
    Call :meth:`answer` when a click has been read, with the outcome line if any.
    """

    _esm = _ESM
    _css = _CSS
    description = traitlets.Unicode("Cancel").tag(sync=True)
    tooltip = traitlets.Unicode("Cancel this job").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    hidden = traitlets.Bool(False).tag(sync=True)
    feedback = traitlets.Unicode("").tag(sync=True)
    """The kernel's last word on a cancel request (shown next to the button)."""
    answered = traitlets.Int(0).tag(sync=True)
    """Clicks the kernel has read: the browser stops saying "requested" when it moves."""
    requested_text = traitlets.Unicode(REQUESTED_TEXT).tag(sync=True)
    busy_text = traitlets.Unicode(BUSY_TEXT).tag(sync=True)
    busy_after_ms = traitlets.Int(BUSY_AFTER_MS).tag(sync=True)

    def __init__(self, on_click: Callable[[], None], **traits: Any) -> None:
        super().__init__(**traits)
        self._on_click = on_click
        self.on_msg(self._handle_message)

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Runs on the kernel thread when the click's message is read."""
        if isinstance(content, dict) and content.get("event") == "click":
            self._on_click()
