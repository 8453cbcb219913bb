// "Is this right?" under a sighting: the user says who the face really is
// (POST /api/v1/sightings/{id}/feedback, verdict "is" with the person picked)
// or that it is not the person named (verdict "is_not": the face goes to a
// stranger's profile). Both can be undone (DELETE /api/v1/feedback/{id}),
// from the dialog or from the notice that stays after it closes. Sightings
// from before faces were kept cannot be corrected: the server answers 409
// (no_embedding), and the dialog says so.
import { ApiError, api, errorText, type Feedback, type Sighting, type SightingDetail } from "../api.js";
import { h, profileName, replace } from "../dom.js";
import { toast, undoToast } from "../toast.js";
import { profilePicker } from "./profile-picker.js";
import type { ProfileSummary } from "./profile-lookup.js";

interface FeedbackAnswer {
  feedback: Feedback;
  sighting: SightingDetail;
  reason: string | null; // why an "is" face was kept out of the gallery
}

export interface SightingFeedback {
  element: HTMLElement;
  dispose(): void;
}

let counter = 0;

// `onMoved` gets the sighting as it is after a correction or its undo.
export function sightingFeedback(sighting: Sighting, profile: ProfileSummary | null | undefined, onMoved: (sighting: SightingDetail) => void): SightingFeedback {
  const id = `feedback-${++counter}`;
  let current = profile;
  let chosen: ProfileSummary | null = null;
  let sending = false;
  const notButton = h("button", { type: "button", class: "button button-small", "data-testid": "feedback-not" });
  const correctButton = h("button", { type: "button", class: "button button-small", "aria-expanded": "false", "aria-controls": `${id}-pick`, "data-testid": "feedback-correct" }, "Correct: this is…");
  const picker = profilePicker({ id: `${id}-who`, label: "Who is it?", placeholder: "Type a name", exclude: (p) => p.id === current?.id, onChange: (p) => (chosen = p) });
  const moveButton = h("button", { type: "submit", class: "button button-small button-primary", "data-testid": "feedback-move" }, "Move to this person");
  const cancelButton = h("button", { type: "button", class: "button button-small" }, "Cancel");
  const pickForm = h("form", { class: "feedback-pick", id: `${id}-pick`, hidden: true, novalidate: true }, picker.element, h("div", { class: "feedback-pick-actions" }, cancelButton, moveButton));
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "feedback-error" });
  const done = h("p", { class: "feedback-done", role: "status", "data-testid": "feedback-done" });
  const element = h(
    "section",
    { class: "sighting-feedback", "aria-labelledby": `${id}-title`, "data-needs": "operator", "data-testid": "sighting-feedback" },
    h("h3", { id: `${id}-title` }, "Is this the right person?"),
    h("div", { class: "feedback-actions" }, notButton, correctButton),
    pickForm,
    error,
    done,
  );

  function show(): void {
    notButton.hidden = !current;
    if (current) notButton.textContent = `Not ${profileName(current)}`;
    for (const b of [notButton, correctButton, moveButton]) b.disabled = sending;
  }

  function openPicker(on: boolean): void {
    pickForm.hidden = !on;
    correctButton.setAttribute("aria-expanded", String(on));
    if (on) pickForm.querySelector("input")?.focus();
  }

  function moved(s: SightingDetail): void {
    current = s.profile;
    show();
    onMoved(s);
  }

  async function undo(feedback: Feedback, button: HTMLButtonElement | null): Promise<void> {
    if (button) button.disabled = true;
    try {
      await api.del<Feedback>(`/api/v1/feedback/${encodeURIComponent(String(feedback.id))}`);
      const s = await api.get<SightingDetail>(`/api/v1/sightings/${encodeURIComponent(sighting.id)}`);
      const who = s.profile ? profileName(s.profile) : "its earlier profile";
      replace(done, `Undone: this is ${who} again.`);
      toast(`Undone: the sighting is ${who} again.`, "success");
      moved(s);
    } catch (failure) {
      if (button) button.disabled = false;
      toast(`Could not undo the correction: ${errorText(failure)}`, "error");
    }
  }

  async function send(verdict: "is" | "is_not", target: ProfileSummary): Promise<void> {
    if (sending) return;
    sending = true;
    error.textContent = "";
    show();
    try {
      const answer = await api.post<FeedbackAnswer>(`/api/v1/sightings/${encodeURIComponent(sighting.id)}/feedback`, { verdict, profile_id: target.id });
      const to = answer.sighting.profile ? profileName(answer.sighting.profile) : "another profile";
      // The server's reason is in its own terms; what it means for the user is this.
      const learnt = answer.feedback.added_to_gallery
        ? ` This face now helps recognise ${to}.`
        : verdict === "is" && answer.reason ? ` The face looks too unlike ${to}'s photos to be learnt from.` : "";
      let undone = false;
      const once = (button: HTMLButtonElement | null) => {
        if (undone) return;
        undone = true;
        void undo(answer.feedback, button);
      };
      const undoButton = h("button", { type: "button", class: "button button-small", "data-testid": "feedback-undo" }, "Undo");
      undoButton.addEventListener("click", () => once(undoButton));
      replace(done, `Moved to ${to}.${learnt} `, undoButton);
      undoToast(`Moved to ${to}.`, () => once(null));
      openPicker(false);
      picker.set(null);
      chosen = null;
      moved(answer.sighting);
    } catch (failure) {
      // A sighting from before sightings kept their face cannot be judged again.
      error.textContent =
        failure instanceof ApiError && failure.code === "no_embedding"
          ? "Not corrected: this sighting is from before Safelynx kept the face of each sighting, so it cannot be moved."
          : `Not corrected: ${errorText(failure)}`;
    } finally {
      sending = false;
      show();
    }
  }

  notButton.addEventListener("click", () => {
    if (current) void send("is_not", current);
  });
  correctButton.addEventListener("click", () => openPicker(pickForm.hidden));
  cancelButton.addEventListener("click", () => {
    openPicker(false);
    correctButton.focus();
  });
  pickForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!chosen) {
      error.textContent = "Choose the person first: type part of the name and pick them from the list.";
      pickForm.querySelector("input")?.focus();
      return;
    }
    void send("is", chosen);
  });
  show();
  return { element, dispose: () => picker.dispose() };
}
