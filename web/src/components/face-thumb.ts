// A face picture (profile thumbnail, sighting snapshot) loaded with the
// token, falling back to the person's initial when there is none or it
// cannot be loaded (deleted, cleaned up by the storage quota).
import { withToken } from "../api.js";
import { h } from "../dom.js";

export function faceThumb(url: string | null | undefined, name: string, size: "small" | "medium" = "small", alt = ""): HTMLElement {
  const initial = (name.trim()[0] ?? "?").toUpperCase();
  const placeholder = () => h("span", { class: `face-thumb face-thumb-${size} face-thumb-empty`, "aria-hidden": "true" }, initial);
  if (!url) return placeholder();
  const img = h("img", { class: `face-thumb face-thumb-${size}`, src: withToken(url), alt, loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(placeholder()), { once: true });
  return img;
}
