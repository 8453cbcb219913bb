// Choosing face photos for an enrolment or an upload: a file input (multiple,
// images), a preview of every chosen photo with a remove button, and the
// server's per-photo errors ("photo 2 (lin.jpg): 3 faces found; ...") shown
// under the preview they name.
import { ApiError } from "../api.js";
import { h, replace } from "../dom.js";

export const MAX_PHOTOS = 20; // the API's limit per request

export interface PhotoPicker {
  element: HTMLElement;
  input: HTMLInputElement;
  files(): File[];
  clear(): void;
  // Puts an API error under the photo it names and moves the focus there;
  // false when it names none.
  showError(error: unknown): boolean;
  clearErrors(): void;
  dispose(): void; // frees the preview URLs
}

interface Chosen {
  file: File;
  url: string;
  error: string;
}

// "photo 2 (lin.jpg): 3 faces found; ..." -> {index: 1, name: "lin.jpg", text: "3 faces found; ..."}
export function parsePhotoError(message: string): { index: number; name: string | null; text: string } | null {
  const match = /^photo (\d+)(?: \((.*?)\))?: ([\s\S]*)$/.exec(message);
  if (!match) return null;
  return { index: Number(match[1]) - 1, name: match[2] ?? null, text: match[3] ?? message };
}

// `single`: one photo at a time, a new pick replaces it (the search by photo).
export function photoPicker(options: { id: string; label: string; hint?: string; single?: boolean; onChange?: () => void }): PhotoPicker {
  let chosen: Chosen[] = [];
  const max = options.single ? 1 : MAX_PHOTOS;
  const input = h("input", {
    type: "file",
    id: options.id,
    name: "photo",
    multiple: !options.single,
    accept: "image/*",
    "aria-describedby": `${options.id}-hint ${options.id}-error`,
  });
  const hint = h("p", { class: "muted field-hint", id: `${options.id}-hint` }, options.hint ?? `One face per photo; up to ${MAX_PHOTOS} photos. Several photos from different angles recognise better.`);
  const error = h("p", { class: "field-error", id: `${options.id}-error`, role: "alert" });
  const previews = h("ul", { class: "photo-previews", "aria-label": "Chosen photos", "data-testid": "photo-previews" });

  // Keeps the input's own file list in step with what is shown, where the
  // browser allows it (DataTransfer), so its "3 files" text stays true.
  const syncInput = () => {
    try {
      const transfer = new DataTransfer();
      for (const c of chosen) transfer.items.add(c.file);
      input.files = transfer.files;
    } catch {
      if (chosen.length === 0) input.value = "";
    }
  };

  const render = () => {
    replace(
      previews,
      chosen.map((c, i) => {
        const remove = h(
          "button",
          { type: "button", class: "photo-remove", "aria-label": `Remove ${c.file.name}`, title: "Remove", "aria-describedby": c.error ? `${options.id}-error-${i}` : null },
          "×",
        );
        remove.addEventListener("click", () => {
          URL.revokeObjectURL(c.url);
          chosen.splice(i, 1);
          syncInput();
          render();
          // Focus stays in the list (or goes back to the input when it is empty).
          const buttons = previews.querySelectorAll<HTMLButtonElement>(".photo-remove");
          (buttons[Math.min(i, buttons.length - 1)] ?? input).focus();
          options.onChange?.();
        });
        return h(
          "li",
          { class: "photo-preview" + (c.error ? " photo-preview-error" : ""), "data-testid": "photo-preview" },
          h("img", { src: c.url, alt: "", decoding: "async" }),
          h("span", { class: "photo-name", title: c.file.name }, `${i + 1}. ${c.file.name}`),
          remove,
          c.error ? h("p", { class: "field-error photo-error", id: `${options.id}-error-${i}`, "data-testid": "photo-error" }, c.error) : null,
        );
      }),
    );
    previews.hidden = chosen.length === 0;
  };

  const add = (added: File[]) => {
    if (options.single && added.length) {
      for (const c of chosen) URL.revokeObjectURL(c.url);
      chosen = [];
      added = added.slice(0, 1);
    }
    // A new pick adds to what is chosen (the same file twice counts once).
    const key = (f: File) => `${f.name}:${f.size}:${f.lastModified}`;
    const have = new Set(chosen.map((c) => key(c.file)));
    const fresh = added.filter((f) => !have.has(key(f)));
    // Re-picking exactly the current set (the input shows all of them) adds nothing.
    const notImages = fresh.filter((f) => f.type && !f.type.startsWith("image/"));
    for (const file of fresh) {
      if (notImages.includes(file)) continue;
      chosen.push({ file, url: URL.createObjectURL(file), error: "" });
    }
    let message = notImages.length ? `Not an image: ${notImages.map((f) => f.name).join(", ")}.` : "";
    if (chosen.length > max) {
      for (const c of chosen.splice(max)) URL.revokeObjectURL(c.url);
      message = `At most ${max} photos at a time; the first ${max} are kept.`;
    }
    for (const c of chosen) c.error = "";
    error.textContent = message;
    syncInput();
    render();
    options.onChange?.();
  };
  input.addEventListener("change", () => add([...(input.files ?? [])]));

  render();
  const element = h(
    "div",
    { class: "photo-picker" },
    h("label", { for: options.id }, options.label),
    hint,
    input,
    error,
    previews,
  );
  // Photos dropped anywhere on the picker count as picked (the input is the
  // keyboard's and screen reader's way, and says so).
  element.addEventListener("dragover", (event) => {
    if (!event.dataTransfer?.types.includes("Files") || input.disabled) return;
    event.preventDefault();
    element.classList.add("is-drop-target");
  });
  element.addEventListener("dragleave", () => element.classList.remove("is-drop-target"));
  element.addEventListener("drop", (event) => {
    element.classList.remove("is-drop-target");
    if (!event.dataTransfer?.files.length || input.disabled) return;
    event.preventDefault();
    add([...event.dataTransfer.files]);
  });

  return {
    element,
    input,
    files: () => chosen.map((c) => c.file),
    clear() {
      for (const c of chosen) URL.revokeObjectURL(c.url);
      chosen = [];
      error.textContent = "";
      syncInput();
      render();
    },
    showError(failure) {
      const message = failure instanceof ApiError ? failure.message : String(failure);
      const parsed = parsePhotoError(message);
      if (!parsed) return false;
      // The position counts the photos sent, in order; the name double-checks it.
      let index = parsed.index;
      if (chosen[index]?.file.name !== parsed.name && parsed.name !== null) {
        const byName = chosen.findIndex((c) => c.file.name === parsed.name);
        if (byName >= 0) index = byName;
      }
      const target = chosen[index];
      if (!target) return false;
      for (const c of chosen) c.error = "";
      target.error = parsed.text.charAt(0).toUpperCase() + parsed.text.slice(1);
      render();
      error.textContent = `Photo ${index + 1} (${target.file.name}) cannot be used; the reason is shown under it.`;
      // The keyboard lands on the photo's Remove button, which the reason describes.
      const remove = previews.children[index]?.querySelector<HTMLElement>(".photo-remove");
      remove?.focus({ preventScroll: true });
      previews.children[index]?.scrollIntoView({ block: "nearest" });
      return true;
    },
    clearErrors() {
      for (const c of chosen) c.error = "";
      error.textContent = "";
      render();
    },
    dispose() {
      for (const c of chosen) URL.revokeObjectURL(c.url);
      chosen = [];
    },
  };
}
