// Merging several profiles of the same person: the user picks the one that
// is kept (its name, classification, tags and notes stay); the others'
// face samples and sightings move into it and they are deleted
// (POST /api/v1/profiles/{kept}/merge {"source_ids": [...]}).
import { api, errorText, type Profile } from "../api.js";
import { h, profileName } from "../dom.js";
import { classificationPill } from "./classification.js";
import { faceThumb } from "./face-thumb.js";
import { openModal } from "./modal-dialog.js";

// The best one to keep by default: a named profile, then the most sightings.
function suggested(profiles: Profile[]): Profile {
  return [...profiles].sort((a, b) => Number(!!b.name) - Number(!!a.name) || b.sighting_count - a.sighting_count)[0]!;
}

export function openMergeDialog(container: Element, profiles: Profile[], onMerged: (merged: Profile, sourceIds: string[]) => void): void {
  let keep = suggested(profiles).id;
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "merge-error" });
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const submit = h("button", { type: "submit", class: "button button-primary", "data-testid": "merge-submit" });
  const setLabel = () => {
    const kept = profiles.find((p) => p.id === keep)!;
    submit.textContent = `Merge into ${profileName(kept)}`;
  };
  const options = profiles.map((p) => {
    const radio = h("input", { type: "radio", name: "merge-keep", value: p.id, checked: p.id === keep, id: `merge-keep-${p.id}` });
    radio.addEventListener("change", () => {
      if (radio.checked) keep = p.id;
      setLabel();
    });
    return h(
      "li",
      {},
      h(
        "label",
        { for: radio.id, class: "merge-option", "data-testid": "merge-option" },
        radio,
        faceThumb(p.thumbnail_url, p.name ?? "?", "small"),
        h("span", { class: "merge-option-text" }, h("strong", {}, profileName(p)), " ", classificationPill(p.classification),
          h("span", { class: "muted merge-option-facts" }, `${p.sighting_count} sighting${p.sighting_count === 1 ? "" : "s"} · ${p.embedding_count} face sample${p.embedding_count === 1 ? "" : "s"}`)),
      ),
    );
  });
  const form = h(
    "form",
    {},
    h("h2", { id: "merge-title" }, `Merge ${profiles.length} profiles`),
    h(
      "p",
      { id: "merge-text" },
      "Choose the profile to keep. The face samples and sightings of the others move into it and the others are deleted. " +
        "The kept profile's name, classification, tags and notes stay as they are.",
    ),
    h("fieldset", { class: "merge-options" }, h("legend", {}, "Keep"), h("ul", { class: "plain-list" }, options)),
    error,
    h("div", { class: "dialog-actions" }, cancel, submit),
  );
  setLabel();
  const dialog = h("dialog", { "aria-labelledby": "merge-title", "aria-describedby": "merge-text", "data-testid": "merge-dialog" }, form);
  let sending = false;
  const modal = openModal(dialog, container);
  dialog.querySelector<HTMLInputElement>("input[name=merge-keep]:checked")?.focus();
  cancel.addEventListener("click", () => modal.close());
  dialog.addEventListener("cancel", (event) => {
    if (sending) event.preventDefault();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sourceIds = profiles.filter((p) => p.id !== keep).map((p) => p.id);
    error.textContent = "";
    sending = true;
    submit.disabled = true;
    cancel.disabled = true;
    try {
      const merged = await api.post<Profile>(`/api/v1/profiles/${keep}/merge`, { source_ids: sourceIds });
      sending = false;
      modal.close();
      onMerged(merged, sourceIds);
    } catch (failure) {
      sending = false;
      error.textContent = `The profiles could not be merged: ${errorText(failure)}`;
      submit.disabled = false;
      cancel.disabled = false;
    }
  });
}
