// Merging several profiles of the same person: the user picks the one that
// is kept; the others' face samples and sightings move into it and they are
// deleted (POST /api/v1/profiles/{kept}/merge {"source_ids": [...]}). The
// server merges the fields (the most restrictive classification wins, tags
// and notes are combined): its dry run is shown before the user confirms,
// so a changed classification or name is never a surprise.
import { api, errorText, type MergeConflict, type MergePreview, type Profile } from "../api.js";
import { h, profileName, replace } from "../dom.js";
import { classificationLabel, classificationPill } from "./classification.js";
import { faceThumb } from "./face-thumb.js";
import { openModal } from "./modal-dialog.js";

// The best one to keep by default: a named profile, then the most sightings.
function suggested(profiles: Profile[]): Profile {
  return [...profiles].sort((a, b) => Number(!!b.name) - Number(!!a.name) || b.sighting_count - a.sighting_count)[0]!;
}

function conflictText(c: MergeConflict): string {
  switch (c.field) {
    case "name":
      return `Different names (${c.values.join(", ")}): the merged profile is called ${c.resolution}.`;
    case "classification":
      return `Different classifications (${c.values.map(classificationLabel).join(", ")}): the result is ${classificationLabel(c.resolution)}, the most restrictive.`;
    default:
      return `${c.values.join(" and ")} have notes: they are combined, each under its profile's name.`;
  }
}

function previewView(preview: MergePreview): HTMLElement[] {
  const p = preview.profile;
  const result = h(
    "p",
    { "data-testid": "merge-result" },
    "Result: ",
    h("strong", {}, profileName(p)),
    " ",
    h("span", { "data-testid": "merge-result-classification", "data-classification": p.classification }, classificationPill(p.classification)),
    p.tags.length ? ` · tags ${p.tags.join(", ")}` : "",
    ` · ${p.sighting_count} sighting${p.sighting_count === 1 ? "" : "s"} · ${p.embedding_count} face sample${p.embedding_count === 1 ? "" : "s"}`,
  );
  const conflicts = preview.conflicts.length
    ? h("ul", { class: "merge-conflicts", "data-testid": "merge-conflicts", "aria-label": "Conflicts" },
        preview.conflicts.map((c) => h("li", { "data-field": c.field }, conflictText(c))))
    : h("p", { class: "muted" }, "No conflicts: the profiles agree on name, classification and notes.");
  return [result, conflicts];
}

export function openMergeDialog(container: Element, profiles: Profile[], onMerged: (merged: Profile, sourceIds: string[]) => void): void {
  let keep = suggested(profiles).id;
  let ready = false; // the preview of the current choice is shown
  let asked = 0; // the newest preview request: older answers are dropped
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "merge-error" });
  const preview = h("div", { class: "merge-preview", "data-testid": "merge-preview", "aria-live": "polite" });
  const cancel = h("button", { type: "button", class: "button" }, "Cancel");
  const submit = h("button", { type: "submit", class: "button button-primary", "data-testid": "merge-submit" });
  const sourceIds = () => profiles.filter((p) => p.id !== keep).map((p) => p.id);
  const setLabel = () => {
    const kept = profiles.find((p) => p.id === keep)!;
    submit.textContent = `Merge into ${profileName(kept)}`;
  };
  async function loadPreview(): Promise<void> {
    const mine = ++asked;
    ready = false;
    submit.disabled = true;
    error.textContent = "";
    replace(preview, h("p", { class: "muted" }, "Checking what the merge would do…"));
    try {
      const answer = await api.post<MergePreview>(`/api/v1/profiles/${keep}/merge`, { source_ids: sourceIds(), dry_run: true });
      if (mine !== asked) return;
      replace(preview, ...previewView(answer));
      if (answer.refused.length) {
        error.textContent = `These profiles cannot be merged yet: ${answer.refused.join("; ")}.`;
        return;
      }
      ready = true;
      submit.disabled = false;
    } catch (failure) {
      if (mine !== asked) return;
      replace(preview);
      error.textContent = `The merge could not be checked: ${errorText(failure)}`;
    }
  }
  const options = profiles.map((p) => {
    const radio = h("input", { type: "radio", name: "merge-keep", value: p.id, checked: p.id === keep, id: `merge-keep-${p.id}` });
    radio.addEventListener("change", () => {
      if (radio.checked) keep = p.id;
      setLabel();
      void loadPreview();
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
        "The kept profile's name stays (an unnamed one takes the first other name); the most restrictive classification wins, " +
        "so Flagged is never lost and Trusted stays only if every profile is trusted; tags and notes are combined.",
    ),
    h("fieldset", { class: "merge-options" }, h("legend", {}, "Keep"), h("ul", { class: "plain-list" }, options)),
    preview,
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
  void loadPreview();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!ready || sending) return;
    const sources = sourceIds();
    error.textContent = "";
    sending = true;
    submit.disabled = true;
    cancel.disabled = true;
    try {
      const merged = await api.post<Profile>(`/api/v1/profiles/${keep}/merge`, { source_ids: sources });
      sending = false;
      modal.close();
      onMerged(merged, sources);
    } catch (failure) {
      sending = false;
      error.textContent = `The profiles could not be merged: ${errorText(failure)}`;
      submit.disabled = false;
      cancel.disabled = false;
    }
  });
}
