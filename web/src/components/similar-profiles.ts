// A profile's look-alikes (GET /api/v1/profiles/{id}/similar): the profiles
// nearest to its faces, so the same person enrolled twice, or a stranger's
// profile made for someone known, can be found and merged. Only the likely
// same (within the match threshold) offer a merge; the others are shown for
// the user to judge.
import { api, errorText, type NearProfile, type Profile } from "../api.js";
import { h, profileName, replace } from "../dom.js";
import { classificationPill } from "./classification.js";
import { faceThumb } from "./face-thumb.js";
import { matchStrength } from "./match-strength.js";
import { openMergeDialog } from "./merge-dialog.js";
import { toast } from "../toast.js";

export interface SimilarProfiles {
  element: HTMLElement;
  load(): Promise<void>;
}

export function similarProfiles(container: Element, profile: () => Profile | null, onMerged: (merged: Profile, sourceIds: string[]) => void): SimilarProfiles {
  const list = h("ul", { class: "plain-list similar-list", "data-testid": "similar-list" });
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "similar-title", "data-testid": "similar-profiles" },
    h("h2", { id: "similar-title" }, "Similar profiles"),
    list,
  );
  async function mergeWith(other: NearProfile): Promise<void> {
    const self = profile();
    if (!self) return;
    const full = await api.get<Profile>(`/api/v1/profiles/${encodeURIComponent(other.profile.id)}`);
    openMergeDialog(container, [self, full], onMerged);
  }
  function item(near: NearProfile): HTMLElement {
    const open = h("a", { href: `/profiles/${near.profile.id}` }, profileName(near.profile));
    const merge = near.likely_same
      ? h("button", { type: "button", class: "button button-small", "data-testid": "similar-merge", "data-needs": "operator" }, "Merge…")
      : null;
    merge?.addEventListener("click", () => void mergeWith(near).catch((error) => toast(`Could not open the merge: ${errorText(error)}`, "error")));
    return h(
      "li",
      { class: "similar-item", "data-testid": "similar-item", "data-likely-same": String(!!near.likely_same) },
      faceThumb(near.profile.thumbnail_url, near.profile.name ?? "?", "small"),
      h("span", {}, open, " ", classificationPill(near.profile.classification), " ",
        // Words, not the number: "distance" means nothing to someone watching cameras.
        h("span", { class: "muted" }, near.likely_same ? `likely the same person (${matchStrength(near.distance)})` : "resembles, but probably someone else")),
      merge,
    );
  }
  async function load(): Promise<void> {
    const self = profile();
    if (!self) return;
    try {
      const answer = await api.get<{ items: NearProfile[] }>(`/api/v1/profiles/${encodeURIComponent(self.id)}/similar`);
      if (answer.items.length) replace(list, ...answer.items.map(item));
      else replace(list, h("li", { class: "muted" }, "Nobody in the gallery looks like this person."));
    } catch {
      replace(list, h("li", { class: "muted" }, "Similar profiles could not be loaded."));
    }
  }
  return { element, load };
}
