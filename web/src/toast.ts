// Short notices in the corner: saved, failed, and alerts from the cameras.
// One may carry an action (Undo), a button in the notice itself.
import { h } from "./dom.js";

export type ToastKind = "info" | "success" | "error" | "alert";

export interface ToastAction {
  label: string;   // "Undo"
  run: () => void; // the notice closes first
}

export function toast(message: string, kind: ToastKind = "info", timeoutMs = 5000, action?: ToastAction): void {
  const area = document.getElementById("toasts");
  if (!area) return;
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const button = action ? h("button", { type: "button", class: "button button-small toast-action", "data-testid": "toast-action" }, action.label) : null;
  const item = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" || kind === "alert" ? "alert" : "status", "data-testid": `toast-${kind}` },
    h("span", {}, message),
    button,
    close,
  );
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  button?.addEventListener("click", () => {
    remove();
    action!.run();
  });
  area.appendChild(item);
  if (timeoutMs > 0) window.setTimeout(remove, timeoutMs);
}

// The notice after a change that can be taken back: long enough to read and reach.
export function undoToast(message: string, undo: () => void): void {
  toast(message, "success", 12_000, { label: "Undo", run: undo });
}
