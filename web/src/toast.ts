// Short notices in the corner: saved, failed, and alerts from the cameras.
import { h } from "./dom.js";

export type ToastKind = "info" | "success" | "error" | "alert";

export function toast(message: string, kind: ToastKind = "info", timeoutMs = 5000): void {
  const area = document.getElementById("toasts");
  if (!area) return;
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss" }, "×");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" || kind === "alert" ? "alert" : "status", "data-testid": `toast-${kind}` }, h("span", {}, message), close);
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  area.appendChild(item);
  if (timeoutMs > 0) window.setTimeout(remove, timeoutMs);
}
