// A picture at full size in a modal dialog (a sighting's whole frame):
// Esc, the Close button or a click on the backdrop closes it.
import { withToken } from "../api.js";
import { h } from "../dom.js";
import { openModal } from "./modal-dialog.js";

let counter = 0;

export function openLightbox(url: string, title: string, container: Element, caption?: string): void {
  const id = `lightbox-${++counter}`;
  const status = h("p", { class: "muted lightbox-status", role: "status" }, "Loading…");
  const image = h("img", { class: "lightbox-image", src: withToken(url), alt: title, decoding: "async" });
  image.addEventListener("load", () => status.remove(), { once: true });
  image.addEventListener(
    "error",
    () => {
      image.remove();
      status.className = "state state-error";
      status.textContent = "The picture could not be loaded: it may have been removed by the storage clean-up.";
    },
    { once: true },
  );
  const close = h("button", { type: "button", class: "button", autofocus: true }, "Close");
  const dialog = h(
    "dialog",
    { class: "lightbox", "aria-labelledby": `${id}-title`, "data-testid": "lightbox" },
    h("div", { class: "dialog-header" }, h("h2", { id: `${id}-title` }, title), close),
    status,
    image,
    caption ? h("p", { class: "muted" }, caption) : null,
  );
  const modal = openModal(dialog, container);
  close.addEventListener("click", () => modal.close());
  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  dialog.addEventListener("click", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) modal.close();
  });
}
