// /review: the strangers the cameras saw that nobody has looked at yet
// (unknown profiles not reviewed, most recently seen first), each with its
// face photos. For each one: "This is…" (someone already known: it is
// merged into them, after the merge dialog's preview), "New person" (a name:
// it becomes Known) or "Ignore" (it stays a remembered stranger). A card
// leaves the queue once handled; naming and ignoring can be undone from the
// notice (a merge cannot: the stranger's profile is gone).
import { api, errorText, type FaceList, type NearProfile, type Page, type Profile } from "../api.js";
import { formatRelative, formatTime, h, profileName, replace } from "../dom.js";
import { onEvent } from "../events.js";
import { setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";
import { toast, undoToast } from "../toast.js";
import { reviewQuery } from "../review-queue.js";
import { classificationPill } from "../components/classification.js";
import { faceThumb } from "../components/face-thumb.js";
import { openMergeDialog } from "../components/merge-dialog.js";
import { openModal } from "../components/modal-dialog.js";
import { mapLimit } from "../components/parallel.js";
import { pageCount, pageParam, pagerSlot } from "../components/pager.js";
import { profilePicker } from "../components/profile-picker.js";
import type { ProfileSummary } from "../components/profile-lookup.js";

const PER_PAGE = 12;
const PHOTOS_PER_CARD = 4;

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

// The card's face photos: the stored faces that kept one, else the thumbnail.
async function cardPhotos(profile: Profile, host: HTMLElement): Promise<void> {
  try {
    const faces = await api.get<FaceList>(`/api/v1/profiles/${encodeURIComponent(profile.id)}/faces`);
    const withPhoto = faces.items.filter((f) => f.has_photo).slice(0, PHOTOS_PER_CARD);
    if (withPhoto.length === 0) return;
    replace(
      host,
      withPhoto.map((f, i) =>
        faceThumb(`/api/v1/profiles/${encodeURIComponent(profile.id)}/faces/${f.id}/photo`, "?", "medium", `Face photo ${i + 1} of ${profileName(profile)}`),
      ),
    );
  } catch {
    // The thumbnail already shown is enough to decide.
  }
}

// "Who is this?": suggestions from the look-alikes, or anyone by name; resolves
// the person chosen (null: cancelled).
function askWho(container: Element, stranger: Profile): Promise<ProfileSummary | null> {
  return new Promise((resolve) => {
    let chosen: ProfileSummary | null = null;
    let answer: ProfileSummary | null = null;
    const picker = profilePicker({ id: "review-who", label: "Person", placeholder: "Type a name", exclude: (p) => p.id === stranger.id, onChange: (p) => (chosen = p) });
    const suggestions = h("ul", { class: "plain-list review-suggestions", "aria-label": "Looks like" });
    const error = h("p", { class: "form-error", role: "alert", "data-testid": "review-who-error" });
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const submit = h("button", { type: "submit", class: "button button-primary", "data-testid": "review-who-submit" }, "Continue");
    const form = h(
      "form",
      { novalidate: true },
      h("h2", { id: "review-who-title" }, "Who is this?"),
      h("p", { id: "review-who-text" }, `Pick the person ${profileName(stranger)} is. Next you see what merging them makes, before anything changes.`),
      suggestions,
      picker.element,
      error,
      h("div", { class: "dialog-actions" }, cancel, submit),
    );
    const dialog = h("dialog", { "aria-labelledby": "review-who-title", "aria-describedby": "review-who-text", "data-testid": "review-who-dialog" }, form);
    const modal = openModal(dialog, container, () => {
      picker.dispose();
      resolve(answer);
    });
    const finish = (p: ProfileSummary) => {
      answer = p;
      modal.close();
    };
    cancel.addEventListener("click", () => modal.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (chosen) finish(chosen);
      else {
        error.textContent = "Choose the person: type part of the name and pick them from the list.";
        dialog.querySelector<HTMLInputElement>("#review-who")?.focus();
      }
    });
    api
      .get<{ items: NearProfile[] }>(`/api/v1/profiles/${encodeURIComponent(stranger.id)}/similar`)
      .then((near) => {
        const named = near.items.filter((n) => n.profile.name);
        if (!named.length || !dialog.isConnected) return;
        replace(
          suggestions,
          h("li", { class: "muted" }, "Looks like:"),
          named.slice(0, 3).map((n) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "button button-small review-suggestion", "data-testid": "review-suggestion", onclick: () => finish(n.profile) },
                faceThumb(n.profile.thumbnail_url, n.profile.name ?? "?", "small"),
                profileName(n.profile),
                " ",
                classificationPill(n.profile.classification),
                h("span", { class: "muted" }, n.likely_same ? " (likely the same)" : " (resembles)"),
              ),
            ),
          ),
        );
      })
      .catch(() => {
        // No suggestions: the picker still finds anyone.
      });
  });
}

export function reviewPage({ root, query }: PageContext): Cleanup {
  let active = true;
  let page = pageParam(query.get("page"));
  let total = 0;
  let loadNumber = 0;
  const count = h("span", { class: "muted", "data-testid": "review-total" });
  const list = h("div", { class: "review-results" });
  const pages = pagerSlot(
    "Strangers",
    (n) => {
      page = n;
      setQuery(new URLSearchParams(n > 1 ? { page: String(n) } : {}));
      void load();
    },
    () => root.querySelector("h1"),
  );
  // New strangers are announced, not slipped in: the cards stay where the user is.
  const arrivals = h("p", { class: "notice review-arrivals", role: "status", "data-testid": "review-arrivals", hidden: true }, "New strangers were seen. ",
    h("button", { type: "button", class: "button button-small", onclick: () => void load() }, "Show them"));
  replace(
    root,
    h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, "Review strangers ", count)),
    arrivals,
    h(
      "p",
      { class: "muted review-intro" },
      "Faces the cameras saw that match nobody yet. Say who each one is: someone already known, a new person to name, or ignore it and it stays a remembered stranger.",
    ),
    list,
    pages.element,
  );

  // The card is handled: it goes, and the keyboard moves on to the next one.
  function dismiss(card: HTMLElement): void {
    const next = (card.nextElementSibling ?? card.previousElementSibling) as HTMLElement | null;
    card.remove();
    total = Math.max(0, total - 1);
    count.textContent = `(${total})`;
    if (next) next.querySelector<HTMLElement>("button")?.focus();
    else {
      root.querySelector<HTMLElement>("h1")?.focus();
      void load();
    }
  }

  async function update(p: Profile, body: Record<string, unknown>): Promise<Profile> {
    return api.put<Profile>(`/api/v1/profiles/${encodeURIComponent(p.id)}`, body);
  }

  async function undo(what: string, p: Profile, body: Record<string, unknown>): Promise<void> {
    try {
      await update(p, body);
      toast(`Undone: ${what} is back in the queue.`, "success");
      if (active) await load();
    } catch (error) {
      toast(`Could not undo: ${errorText(error)}`, "error");
    }
  }

  function card(p: Profile): HTMLElement {
    const name = profileName(p);
    const photos = h("div", { class: "review-photos" }, faceThumb(p.thumbnail_url, "?", "medium", `Photo of ${name}`));
    const error = h("p", { class: "form-error", role: "alert", "data-testid": "review-error" });
    const thisIs = h("button", { type: "button", class: "button", "data-testid": "review-this-is" }, "This is…");
    const newPerson = h("button", { type: "button", class: "button", "aria-expanded": "false", "data-testid": "review-new" }, "New person");
    const ignore = h("button", { type: "button", class: "button", "data-testid": "review-ignore" }, "Ignore");
    const nameId = `review-name-${p.id}`;
    const nameInput = h("input", { id: nameId, name: "name", autocomplete: "off", maxlength: 200, required: true, "aria-describedby": `${nameId}-error` });
    const nameError = h("p", { class: "field-error", id: `${nameId}-error` });
    const nameCancel = h("button", { type: "button", class: "button button-small" }, "Cancel");
    const nameForm = h(
      "form",
      { class: "review-name-form", hidden: true, novalidate: true, "data-testid": "review-name-form" },
      h("label", { for: nameId }, "Name"),
      nameInput,
      nameError,
      h("div", { class: "form-actions" }, nameCancel, h("button", { type: "submit", class: "button button-small button-primary", "data-testid": "review-name-save" }, "Save as a known person")),
    );
    newPerson.setAttribute("aria-controls", `${nameId}-form`);
    nameForm.id = `${nameId}-form`;
    const element = h(
      "li",
      { class: "review-card card", "data-testid": "review-card", "data-profile-id": p.id, "aria-labelledby": `${nameId}-title` },
      photos,
      h(
        "div",
        { class: "review-info" },
        h("h2", { id: `${nameId}-title`, class: "review-title" }, h("a", { href: `/profiles/${p.id}` }, name)),
        h(
          "p",
          { class: "muted review-facts" },
          plural(p.sighting_count, "sighting"),
          " · ",
          p.last_seen ? h("time", { datetime: p.last_seen, title: formatTime(p.last_seen) }, `Seen ${formatRelative(p.last_seen)}`) : "Never seen",
        ),
      ),
      h("div", { class: "review-actions", "data-needs": "operator" }, thisIs, newPerson, ignore),
      nameForm,
      error,
    );
    const busy = (on: boolean) => {
      for (const b of [thisIs, newPerson, ignore]) b.disabled = on;
    };
    const showNameForm = (on: boolean) => {
      nameForm.hidden = !on;
      newPerson.setAttribute("aria-expanded", String(on));
      if (on) nameInput.focus();
    };

    thisIs.addEventListener("click", async () => {
      error.textContent = "";
      const who = await askWho(root, p);
      if (!who || !active) return;
      try {
        const [stranger, person] = await Promise.all([
          api.get<Profile>(`/api/v1/profiles/${encodeURIComponent(p.id)}`),
          api.get<Profile>(`/api/v1/profiles/${encodeURIComponent(who.id)}`),
        ]);
        openMergeDialog(root, [stranger, person], (merged) => {
          toast(`Merged into ${profileName(merged)}.`, "success");
          // Keeping the stranger's profile keeps it unreviewed: the queue says what it is now.
          if (active) merged.id === p.id ? void load() : dismiss(element);
        });
      } catch (failure) {
        error.textContent = `Could not open the merge: ${errorText(failure)}`;
      }
    });

    newPerson.addEventListener("click", () => showNameForm(nameForm.hidden));
    nameCancel.addEventListener("click", () => {
      showNameForm(false);
      newPerson.focus();
    });
    nameForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      nameError.textContent = "";
      nameInput.removeAttribute("aria-invalid");
      const given = nameInput.value.trim();
      if (!given) {
        nameError.textContent = "Type the person's name.";
        nameInput.setAttribute("aria-invalid", "true");
        nameInput.focus();
        return;
      }
      busy(true);
      try {
        const saved = await update(p, { name: given, classification: "known", reviewed: true });
        undoToast(`Saved ${profileName(saved)} as a known person.`, () =>
          void undo(name, saved, { name: p.name, classification: p.classification, reviewed: false }),
        );
        if (active) dismiss(element);
      } catch (failure) {
        busy(false);
        nameError.textContent = `Not saved: ${errorText(failure)}`;
        nameInput.focus();
      }
    });

    ignore.addEventListener("click", async () => {
      error.textContent = "";
      busy(true);
      try {
        const saved = await update(p, { reviewed: true });
        undoToast(`Ignored ${name}: it stays a remembered stranger.`, () => void undo(name, saved, { reviewed: false }));
        if (active) dismiss(element);
      } catch (failure) {
        busy(false);
        error.textContent = `Not ignored: ${errorText(failure)}`;
      }
    });
    return element;
  }

  async function load(): Promise<void> {
    const number = ++loadNumber;
    arrivals.hidden = true;
    if (!list.firstChild) replace(list, loading("Loading strangers…"));
    list.setAttribute("aria-busy", "true");
    try {
      const answer = await api.get<Page<Profile>>("/api/v1/profiles", reviewQuery({ sort: "-last_seen", page, per_page: PER_PAGE }));
      if (!active || number !== loadNumber) return;
      const last = pageCount(answer.total, PER_PAGE);
      if (page > last && answer.total > 0) {
        page = last;
        setQuery(new URLSearchParams(page > 1 ? { page: String(page) } : {}));
        return load();
      }
      total = answer.total;
      count.textContent = `(${answer.total})`;
      if (answer.items.length === 0) {
        replace(list, empty("Nobody to review: every stranger the cameras saw has been named, merged or ignored."));
      } else {
        const cards = answer.items.map((p) => [p, card(p)] as const);
        replace(list, h("ol", { class: "review-list plain-list", "data-testid": "review-list" }, cards.map(([, c]) => c)));
        void mapLimit([...cards], 3, ([p, c]) => cardPhotos(p, c.querySelector<HTMLElement>(".review-photos")!));
      }
      pages.show(page, PER_PAGE, answer.total);
    } catch (error) {
      if (!active || number !== loadNumber) return;
      count.textContent = "";
      replace(list, failed(error, () => void load()));
      pages.clear();
    } finally {
      if (number === loadNumber) list.removeAttribute("aria-busy");
    }
  }
  void load();
  const unsubscribe = onEvent((event) => {
    const created = event.payload.profile as Profile | undefined;
    if (event.type === "ProfileCreated" && created?.classification === "unknown" && !created.reviewed) arrivals.hidden = false;
  });

  return () => {
    active = false;
    unsubscribe();
  };
}
