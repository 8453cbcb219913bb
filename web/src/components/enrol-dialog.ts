// "Enrol a person": name, classification, tags, notes and photos, sent as
// multipart to POST /api/v1/profiles. A photo the server refuses (no face,
// several faces, not an image) is marked under its preview and the form
// stays open; on success the dialog closes and the new profile opens.
import { ApiError, api, errorText, type NearProfile, type Profile } from "../api.js";
import { h, profileName } from "../dom.js";
import { navigate } from "../router.js";
import { toast } from "../toast.js";
import { classificationSelect } from "./classification.js";
import { openModal } from "./modal-dialog.js";
import { photoPicker } from "./photo-picker.js";

// Splits "family, staff" into tags as the API cleans them.
export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

// An invalid_field message names its field first: "tags: a tag may not contain a comma".
export function fieldOfError(error: unknown, fields: string[]): string | null {
  if (!(error instanceof ApiError) || error.code !== "invalid_field") return null;
  const field = /^([a-z_]+)[:.\[]/.exec(error.message)?.[1];
  return field && fields.includes(field) ? field : null;
}

// "tags: a tag may not contain a comma" -> "Tags: a tag may not contain a comma",
// "name: is longer than 200 characters" -> "Name is longer than 200 characters".
export function fieldMessage(error: unknown, field: string): string {
  const text = errorText(error);
  const rest = text.startsWith(field + ": ") ? text.slice(field.length + 2) : text;
  const label = field.charAt(0).toUpperCase() + field.slice(1);
  return rest.startsWith("is ") || rest.startsWith("must ") ? `${label} ${rest}` : rest === text ? text : `${label}: ${rest}`;
}

export function openEnrolDialog(container: Element, pageActive: () => boolean): void {
  const name = h("input", { id: "enrol-name", name: "name", autocomplete: "off", maxlength: 200, "aria-describedby": "enrol-name-error" });
  const classification = classificationSelect({ id: "enrol-classification", name: "classification" }, "known");
  const tags = h("input", { id: "enrol-tags", name: "tags", autocomplete: "off", placeholder: "family, staff", "aria-describedby": "enrol-tags-hint enrol-tags-error" });
  const notes = h("textarea", { id: "enrol-notes", name: "notes", rows: 3, maxlength: 10000, "aria-describedby": "enrol-notes-error" });
  const errors: Record<string, HTMLElement> = {
    name: h("p", { class: "field-error", id: "enrol-name-error" }),
    classification: h("p", { class: "field-error", id: "enrol-classification-error" }),
    tags: h("p", { class: "field-error", id: "enrol-tags-error" }),
    notes: h("p", { class: "field-error", id: "enrol-notes-error" }),
  };
  const photos = photoPicker({ id: "enrol-photos", label: "Photos" });
  const formError = h("p", { class: "form-error", role: "alert", "data-testid": "enrol-error" });
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const submit = h("button", { type: "submit", class: "button button-primary", "data-testid": "enrol-submit" }, "Enrol");

  const form = h(
    "form",
    { class: "enrol-form", novalidate: true },
    h("div", { class: "dialog-header" }, h("h2", { id: "enrol-title" }, "Enrol a person")),
    h("p", { class: "muted" }, "Safelynx learns the face from the photos; each photo must show exactly one face."),
    h("div", { class: "form-grid" },
      h("div", {}, h("label", { for: name.id }, "Name"), name, errors.name),
      h("div", {}, h("label", { for: classification.id }, "Classification"), classification, errors.classification),
    ),
    h("label", { for: tags.id }, "Tags"),
    h("p", { class: "muted field-hint", id: "enrol-tags-hint" }, "Separated by commas."),
    tags,
    errors.tags,
    h("label", { for: notes.id }, "Notes"),
    notes,
    errors.notes,
    photos.element,
    formError,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  const dialog = h("dialog", { class: "enrol-dialog", "aria-labelledby": "enrol-title", "data-testid": "enrol-dialog" }, form);
  let sending = false;
  const modal = openModal(dialog, container, () => photos.dispose());
  cancel.addEventListener("click", () => modal.close());
  // Esc while the photos are being checked would hide the answer: wait for it.
  dialog.addEventListener("cancel", (event) => {
    if (sending) event.preventDefault();
  });

  const clearErrors = () => {
    for (const e of Object.values(errors)) e.textContent = "";
    for (const control of [name, classification, tags, notes]) control.removeAttribute("aria-invalid");
    formError.textContent = "";
    photos.clearErrors();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    clearErrors();
    const files = photos.files();
    if (files.length === 0) {
      formError.textContent = "Add at least one photo of the person's face.";
      photos.input.focus();
      return;
    }
    const body = new FormData();
    if (name.value.trim()) body.append("name", name.value.trim());
    body.append("classification", classification.value);
    const tagList = parseTags(tags.value);
    if (tagList.length) body.append("tags", tagList.join(","));
    if (notes.value.trim()) body.append("notes", notes.value);
    for (const file of files) body.append("photo", file, file.name);

    sending = true;
    submit.disabled = true;
    cancel.disabled = true;
    submit.textContent = files.length > 1 ? `Checking ${files.length} photos…` : "Checking the photo…";
    try {
      const profile = await api.post<Profile & { looks_like?: NearProfile[] }>("/api/v1/profiles", body);
      sending = false;
      modal.close();
      const alike = profile.looks_like ?? [];
      // A duplicate is enrolled all the same; say so, and the profile page's
      // "Similar profiles" offers the merge.
      if (alike.length)
        toast(`Enrolled ${profileName(profile)}. Looks like ${alike.map((a) => profileName(a.profile)).join(", ")}: ` +
          `if it is the same person, merge them under "Similar profiles".`, "alert", 12000);
      else toast(`Enrolled ${profileName(profile)}.`, "success");
      if (pageActive()) navigate(`/profiles/${profile.id}`);
    } catch (error) {
      sending = false;
      if (!dialog.isConnected) {
        toast(`Enrolment failed: ${errorText(error)}`, "error");
        return;
      }
      const field = fieldOfError(error, ["name", "classification", "tags", "notes"]);
      if (photos.showError(error)) {
        // The picker shows the reason under the photo and focuses it.
      } else if (field) {
        const control = { name, classification, tags, notes }[field as "name"]!;
        errors[field]!.textContent = fieldMessage(error, field);
        control.setAttribute("aria-invalid", "true");
        control.focus();
      } else if (error instanceof ApiError && error.code === "payload_too_large") {
        formError.textContent = "The photos are too large to send together. Choose fewer or smaller photos.";
      } else {
        formError.textContent = `Enrolment failed: ${errorText(error)}`;
      }
    } finally {
      submit.disabled = false;
      cancel.disabled = false;
      submit.textContent = "Enrol";
    }
  });
}
