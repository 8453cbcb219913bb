// Loading, empty and error states: every page shows one of these rather than
// a blank area while data is missing.
import { errorText } from "./api.js";
import { h } from "./dom.js";

export function loading(what = "Loading…"): HTMLElement {
  return h("div", { class: "state state-loading", role: "status", "data-testid": "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), what);
}

export function empty(message: string, action?: HTMLElement): HTMLElement {
  return h("div", { class: "state state-empty", "data-testid": "empty" }, h("p", {}, message), action);
}

export function failed(error: unknown, retry?: () => void): HTMLElement {
  return h(
    "div",
    { class: "state state-error", role: "alert", "data-testid": "error" },
    h("p", {}, errorText(error)),
    retry ? h("button", { type: "button", class: "button", onclick: () => retry() }, "Try again") : null,
  );
}
