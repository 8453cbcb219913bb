// A profile's stored faces (GET /api/v1/profiles/{id}/faces, best first):
// what Safelynx recognises the person by. Each shows its photo (older faces
// were kept without one), its quality in words, and can be removed
// (DELETE .../faces/{face_id}), after a question that warns when it is the
// last: without faces the person is no longer recognised.
import { api, errorText, withToken, type Face, type FaceList } from "../api.js";
import { formatTime, h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { confirmDialog } from "./confirm-dialog.js";

export type FaceQuality = "good" | "fair" | "poor";

// Quality is the server's 0..1 estimate of how usable the face is (sharp,
// large, facing the camera).
export function faceQuality(quality: number): FaceQuality {
  if (quality >= 0.7) return "good";
  if (quality >= 0.4) return "fair";
  return "poor";
}

export interface FaceGallery {
  element: HTMLElement;
  load(): Promise<void>;
  count(): number | null; // the faces shown, null before they have loaded
}

// `whose()` names the person in the questions; `onChanged` runs after a removal.
export function faceGallery(container: Element, profileId: string, whose: () => string, onChanged: () => void): FaceGallery {
  const base = `/api/v1/profiles/${encodeURIComponent(profileId)}/faces`;
  const summary = h("span", { class: "muted", "data-testid": "faces-total" });
  const body = h("div", { class: "face-gallery-body" });
  const element = h(
    "section",
    { class: "card face-gallery", "aria-labelledby": "faces-title", "data-testid": "face-gallery" },
    h("h2", { id: "faces-title" }, "Faces ", summary),
    h("p", { class: "muted field-hint" }, "The photos Safelynx recognises this person by, best first. Remove one that shows someone else or is too poor to help."),
    body,
  );
  let shown: number | null = null;

  function item(face: Face, index: number, total: number): HTMLElement {
    const quality = faceQuality(face.quality);
    const label = `Face ${index + 1}, ${quality} quality`;
    const picture = face.has_photo
      ? h("img", { class: "face-photo", src: withToken(`${base}/${face.id}/photo`), alt: label, loading: "lazy", decoding: "async", "data-testid": "face-photo" })
      : h("span", { class: "face-photo face-photo-none", "data-testid": "face-photo-none" }, "No photo kept");
    if (picture instanceof HTMLImageElement)
      picture.addEventListener("error", () => picture.replaceWith(h("span", { class: "face-photo face-photo-none" }, "Photo unavailable")), { once: true });
    const remove = h(
      "button",
      { type: "button", class: "button button-small", "data-needs": "operator", "data-testid": "face-remove", "aria-label": `Remove face ${index + 1}` },
      "Remove",
    );
    remove.addEventListener("click", () => void removeFace(face, index, total, remove));
    return h(
      "li",
      { class: "face-item", "data-testid": "face-item", "data-face-id": String(face.id) },
      picture,
      h("span", { class: `face-quality face-quality-${quality}`, "data-testid": "face-quality" }, `Quality: ${quality}`),
      h("time", { class: "muted face-added", datetime: face.created_at, title: formatTime(face.created_at) }, formatTime(face.created_at)),
      remove,
    );
  }

  async function removeFace(face: Face, index: number, total: number, button: HTMLButtonElement): Promise<void> {
    const who = whose();
    const last = total === 1;
    const ok = await confirmDialog({
      title: `Remove face ${index + 1}?`,
      message: last
        ? `This is the last face of ${who}. Without it Safelynx can no longer recognise ${who}: new sightings will be strangers until you add a photo.`
        : `Safelynx will no longer use this photo to recognise ${who}. ${total - 1} face${total - 1 === 1 ? " remains" : "s remain"}.`,
      confirmLabel: "Remove face",
      danger: true,
      container,
    });
    if (!ok) return;
    button.disabled = true;
    try {
      const answer = await api.del<{ remaining: number; warning?: string }>(`${base}/${encodeURIComponent(String(face.id))}`);
      // The server's warning is a lower-case clause: "this profile has no faces left and …".
      const warning = answer?.warning ? answer.warning.charAt(0).toUpperCase() + answer.warning.slice(1).replace(/\.?$/, ".") : "";
      if (warning) toast(`Face removed. ${warning}`, "alert", 12_000);
      else toast(`Face removed; ${answer?.remaining ?? total - 1} left.`, "success");
      await load();
      onChanged();
    } catch (error) {
      button.disabled = false;
      toast(`Could not remove the face: ${errorText(error)}`, "error");
    }
  }

  async function load(): Promise<void> {
    body.setAttribute("aria-busy", "true");
    try {
      const list = await api.get<FaceList>(base);
      shown = list.total;
      summary.textContent = `(${list.total} of at most ${list.capacity})`;
      replace(
        body,
        list.items.length === 0
          ? h("p", { class: "notice", "data-testid": "faces-empty" }, "No faces: Safelynx cannot recognise this person. Add a photo below.")
          : h("ol", { class: "face-list", "data-testid": "face-list" }, list.items.map((f, i) => item(f, i, list.total))),
      );
    } catch (error) {
      replace(body, h("p", { class: "state-error" }, `The faces could not be loaded: ${errorText(error)}`));
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  return { element, load, count: () => shown };
}
