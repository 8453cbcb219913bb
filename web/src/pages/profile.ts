// /profiles/:id: one person. Header with photo, name and classification,
// quick Flag / Trust, the edit form (with a notice instead of a silent
// overwrite when the profile changes elsewhere while the user edits), adding
// photos, deleting, the facts, the faces it is recognised by, similar
// profiles (to merge) and the sighting history (paged, live).
import { ApiError, api, errorText, type Classification, type Page, type Profile, type Sighting } from "../api.js";
import { formatRelative, formatTime, h, profileName, replace } from "../dom.js";
import { onEvent } from "../events.js";
import { guardLeaving, navigate, setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";
import { toast } from "../toast.js";
import { loadCameraNames, type CameraNames } from "../components/camera-names.js";
import { classificationLabel, classificationPill, classificationSelect } from "../components/classification.js";
import { confirmDialog, confirmLeave } from "../components/confirm-dialog.js";
import { fieldMessage, fieldOfError, parseTags } from "../components/enrol-dialog.js";
import { faceGallery } from "../components/face-gallery.js";
import { faceThumb } from "../components/face-thumb.js";
import { matchLabel } from "../components/match-strength.js";
import { openLightbox } from "../components/lightbox.js";
import { pageParam, pagerSlot } from "../components/pager.js";
import { photoPicker } from "../components/photo-picker.js";
import { openSightingDialog } from "../components/sighting-dialog.js";
import { similarProfiles } from "../components/similar-profiles.js";

const PER_PAGE = 20;
const FIELDS = ["name", "classification", "tags", "notes"] as const;
type Field = (typeof FIELDS)[number];
type Values = Record<Field, string>;

function valuesOf(p: Profile): Values {
  return { name: p.name ?? "", classification: p.classification, tags: p.tags.join(", "), notes: p.notes };
}

// Equal as the server would store them (trimmed name, cleaned tags).
function same(a: Values, b: Values): boolean {
  return (
    a.name.trim() === b.name.trim() &&
    a.classification === b.classification &&
    parseTags(a.tags).sort().join(",") === parseTags(b.tags).sort().join(",") &&
    a.notes === b.notes
  );
}

function factTime(iso: string | null): HTMLElement {
  return iso ? h("span", {}, h("time", { datetime: iso }, formatTime(iso)), h("span", { class: "muted" }, ` (${formatRelative(iso)})`)) : h("span", { class: "muted" }, "never");
}

function profileFacts(p: Profile): HTMLElement[] {
  return [
    h("dt", {}, "Face samples"), h("dd", { "data-testid": "fact-embeddings" }, String(p.embedding_count)),
    h("dt", {}, "Sightings"), h("dd", { "data-testid": "fact-sightings" }, String(p.sighting_count)),
    h("dt", {}, "First seen"), h("dd", {}, factTime(p.first_seen)),
    h("dt", {}, "Last seen"), h("dd", {}, factTime(p.last_seen)),
    h("dt", {}, "Created"), h("dd", {}, factTime(p.created_at)),
    h("dt", {}, "Last changed"), h("dd", {}, factTime(p.updated_at)),
  ];
}

// One sighting of `profile` (null before it has loaded) on `camera`; its full
// frame opens in a lightbox over `container`, its details (and the
// correction of who it is) with `open`.
function sightingItem(s: Sighting, camera: string, profile: Profile | null, container: HTMLElement, fresh: boolean, open: () => void): HTMLElement {
  const who = profile ? profileName(profile) : "Sighting";
  const snapshot = faceThumb(s.snapshot_url, profile?.name ?? "?", "small", s.snapshot_url ? `Face seen on ${camera}` : "");
  return h(
    "li",
    { class: "sighting-item" + (fresh ? " is-new" : ""), "data-testid": "sighting-item", "data-sighting-id": s.id },
    snapshot,
    h(
      "div",
      { class: "sighting-info" },
      h("time", { datetime: s.time, class: "sighting-time" }, formatTime(s.time)),
      h("span", { class: "muted" }, ` · ${formatRelative(s.time)}`),
      h("div", {}, h("span", { class: "sighting-camera" }, camera), h("span", { class: "muted" }, " · ", matchLabel(s.distance))),
    ),
    h(
      "div",
      { class: "sighting-actions" },
      h("button", { type: "button", class: "button button-small", "data-testid": "sighting-open", onclick: () => open() }, "Details"),
      s.frame_url
        ? h(
            "button",
            {
              type: "button",
              class: "button button-small",
              "data-testid": "sighting-frame",
              onclick: () => openLightbox(s.frame_url!, `${who} on ${camera}`, container, formatTime(s.time)),
            },
            "Full frame",
          )
        : null,
      s.recording_id
        ? h(
            "a",
            {
              class: "button button-small",
              href: `/recordings/${s.recording_id}` + (s.recording_offset_s !== null ? `?t=${Math.max(0, s.recording_offset_s).toFixed(1)}` : ""),
              "data-testid": "sighting-recording-link",
            },
            "Recording",
          )
        : null,
    ),
  );
}

// The edit form, empty: the page fills it and handles its events.
function detailsForm() {
  const inputs = {
    name: h("input", { id: "profile-name", name: "name", autocomplete: "off", maxlength: 200, "aria-describedby": "profile-name-error", placeholder: "Unnamed" }),
    classification: classificationSelect({ id: "profile-classification", name: "classification", "aria-describedby": "profile-classification-error" }, "known"),
    tags: h("input", { id: "profile-tags", name: "tags", autocomplete: "off", placeholder: "family, staff", "aria-describedby": "profile-tags-hint profile-tags-error" }),
    notes: h("textarea", { id: "profile-notes", name: "notes", rows: 4, maxlength: 10000, "aria-describedby": "profile-notes-error" }),
  };
  const fieldError = (f: Field) => h("p", { class: "field-error", id: `profile-${f}-error` });
  const errors: Record<Field, HTMLElement> = { name: fieldError("name"), classification: fieldError("classification"), tags: fieldError("tags"), notes: fieldError("notes") };
  const formError = h("p", { class: "form-error", role: "alert", "data-testid": "profile-error" });
  const saveButton = h("button", { type: "submit", class: "button button-primary", "data-testid": "profile-save", "data-needs": "operator" }, "Save changes");
  const resetButton = h("button", { type: "button", class: "button", "data-testid": "profile-reset", "data-needs": "operator" }, "Discard changes");
  const form = h(
    "form",
    { class: "card profile-form", "aria-labelledby": "profile-form-title", novalidate: true },
    h("h2", { id: "profile-form-title" }, "Details"),
    h("label", { for: "profile-name" }, "Name"),
    inputs.name,
    errors.name,
    h("label", { for: "profile-classification" }, "Classification"),
    inputs.classification,
    errors.classification,
    h("label", { for: "profile-tags" }, "Tags"),
    h("p", { class: "muted field-hint", id: "profile-tags-hint" }, "Separated by commas."),
    inputs.tags,
    errors.tags,
    h("label", { for: "profile-notes" }, "Notes"),
    inputs.notes,
    errors.notes,
    formError,
    h("div", { class: "form-actions" }, resetButton, saveButton),
  );
  return { form, inputs, errors, formError, saveButton, resetButton };
}

export function profilePage({ root, params, query }: PageContext): Cleanup {
  const id = params.id ?? "";
  const base = `/api/v1/profiles/${encodeURIComponent(id)}`;
  let active = true;
  let profile: Profile | null = null;
  let baseline: Values | null = null;
  let saving = false;
  let gone = false;
  let historyPage = pageParam(query.get("page"));
  let historyTotal = 0;
  let refreshTimer: number | undefined;
  const cameras: Promise<CameraNames> = loadCameraNames();
  const stops: Array<() => void> = [];

  replace(root, loading("Loading profile…"));

  // Header
  const photo = h("div", { class: "profile-hero-photo" });
  const title = h("h1", { id: "profile-title", "data-testid": "profile-title" });
  const pillHost = h("span");
  const tagsHost = h("ul", { class: "tag-list", "aria-label": "Tags" });
  const flagButton = h("button", { type: "button", class: "button", "data-testid": "profile-flag", "data-needs": "operator" }, "Flag");
  const trustButton = h("button", { type: "button", class: "button", "data-testid": "profile-trust", "data-needs": "operator" }, "Trust");
  const deleteButton = h("button", { type: "button", class: "button button-danger", "data-testid": "profile-delete", "data-needs": "operator" }, "Delete…");
  const notice = h("div", { class: "notice profile-notice", role: "status", "data-testid": "profile-notice", hidden: true });

  // Edit form
  const { form, inputs, errors, formError, saveButton, resetButton } = detailsForm();

  // Facts
  const facts = h("dl", { class: "facts", "data-testid": "profile-facts" });

  // Look-alikes: merging one into this profile keeps the page; keeping the
  // other moves there.
  const similar = similarProfiles(root, () => profile, (merged) => {
    if (!active) return;
    if (merged.id !== id) navigate(`/profiles/${merged.id}`);
    else {
      showProfile(merged);
      if (!dirty()) fillForm(valuesOf(merged));
      void similar.load();
    }
  });

  // The faces it is recognised by; a removal changes the facts' count.
  const faces = faceGallery(root, id, () => (profile ? profileName(profile) : "this person"), () => refreshFacts());

  // Add photos
  const photos = photoPicker({
    id: "profile-photos",
    label: "Photos to add",
    hint: "One face per photo. More photos from different angles and light make recognition more reliable.",
  });
  stops.push(() => photos.dispose());
  const photosError = h("p", { class: "form-error", role: "alert" });
  const photosButton = h("button", { type: "submit", class: "button", "data-testid": "photos-submit", "data-needs": "operator" }, "Add photos");
  const photosForm = h(
    "form",
    { class: "card", "aria-labelledby": "profile-photos-title", novalidate: true },
    h("h2", { id: "profile-photos-title" }, "Add photos"),
    photos.element,
    photosError,
    h("div", { class: "form-actions" }, photosButton),
  );

  // Sighting history
  const historyCount = h("span", { class: "muted" });
  const history = h("div", { class: "sighting-history" });
  const historyPager = pagerSlot("Sightings", (n) => {
    historyPage = n;
    const q = new URLSearchParams(location.search);
    if (n > 1) q.set("page", String(n));
    else q.delete("page");
    setQuery(q);
    void loadHistory();
  });

  function dirty(): boolean {
    return !!baseline && !same(formValues(), baseline);
  }

  // Edits not saved yet are not dropped without asking: a link, Back or
  // Forward, closing or reloading the tab.
  const releaseGuard = guardLeaving({
    unsaved: () => active && !gone && dirty(),
    confirm: () => confirmLeave(`Your changes to ${profile ? profileName(profile) : "this profile"}`, root),
  });
  stops.push(releaseGuard);

  function formValues(): Values {
    return { name: inputs.name.value, classification: inputs.classification.value, tags: inputs.tags.value, notes: inputs.notes.value };
  }

  function fillForm(values: Values): void {
    for (const f of FIELDS) inputs[f].value = values[f];
    baseline = values;
    updateDirty();
  }

  function updateDirty(): void {
    const changed = dirty();
    resetButton.disabled = !changed || saving || gone;
    saveButton.disabled = saving || gone;
    form.classList.toggle("is-dirty", changed);
  }

  function showNotice(...content: Array<Node | string>): void {
    replace(notice, ...content);
    notice.hidden = false;
  }

  // Header and facts always show the saved profile.
  function showProfile(p: Profile): void {
    profile = p;
    const name = profileName(p);
    document.title = `${name} · Safelynx`;
    replace(photo, faceThumb(p.thumbnail_url, p.name ?? "?", "medium", `Photo of ${name}`));
    title.textContent = name;
    title.classList.toggle("is-unnamed", !p.name);
    replace(pillHost, classificationPill(p.classification));
    replace(tagsHost, p.tags.map((t) => h("li", { class: "tag" }, t)));
    tagsHost.hidden = p.tags.length === 0;
    flagButton.disabled = gone || p.classification === "flagged";
    trustButton.disabled = gone || p.classification === "trusted";
    flagButton.title = p.classification === "flagged" ? "Already flagged" : "Alert when this person is seen";
    trustButton.title = p.classification === "trusted" ? "Already trusted" : "Mark as trusted";
    deleteButton.disabled = gone;
    replace(facts, profileFacts(p));
  }

  function setGone(message: Node | string, ...more: Array<Node | string>): void {
    gone = true;
    showNotice(message, ...more);
    for (const control of [...Object.values(inputs), photosButton, photos.input]) control.disabled = true;
    if (profile) showProfile(profile);
    updateDirty();
  }

  function clearErrors(): void {
    for (const f of FIELDS) {
      errors[f].textContent = "";
      inputs[f].removeAttribute("aria-invalid");
    }
    formError.textContent = "";
  }

  async function put(body: Record<string, unknown>): Promise<Profile> {
    return api.put<Profile>(base, body);
  }

  form.addEventListener("input", updateDirty);
  form.addEventListener("change", updateDirty);
  resetButton.addEventListener("click", () => {
    if (profile) fillForm(valuesOf(profile));
    clearErrors();
    notice.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (saving || gone || !profile) return;
    clearErrors();
    const values = formValues();
    saving = true;
    updateDirty();
    saveButton.textContent = "Saving…";
    try {
      const saved = await put({
        name: values.name.trim() || null,
        classification: values.classification,
        tags: parseTags(values.tags),
        notes: values.notes,
      });
      if (!active) return;
      notice.hidden = true;
      showProfile(saved);
      fillForm(valuesOf(saved));
      toast(`Saved ${profileName(saved)}.`, "success");
    } catch (error) {
      if (!active) return;
      const field = fieldOfError(error, [...FIELDS]);
      if (field) {
        errors[field as Field].textContent = fieldMessage(error, field);
        inputs[field as Field].setAttribute("aria-invalid", "true");
        inputs[field as Field].focus();
      } else if (error instanceof ApiError && error.status === 404) {
        setGone("This profile no longer exists. ", h("a", { href: "/profiles" }, "Back to profiles"));
      } else {
        formError.textContent = `Not saved: ${errorText(error)}`;
      }
    } finally {
      saving = false;
      saveButton.textContent = "Save changes";
      updateDirty();
    }
  });

  async function quickClassify(value: Classification, button: HTMLButtonElement): Promise<void> {
    if (!profile || gone) return;
    button.disabled = true;
    try {
      const saved = await put({ classification: value });
      if (!active) return;
      showProfile(saved);
      // Only the classification changed: other unsaved edits stay in the form.
      inputs.classification.value = value;
      if (baseline) baseline = { ...baseline, classification: value };
      updateDirty();
      toast(`${profileName(saved)} is now ${classificationLabel(value).toLowerCase()}.`, "success");
    } catch (error) {
      if (!active) return;
      toast(`Could not change the classification: ${errorText(error)}`, "error");
      if (profile) showProfile(profile);
    }
  }
  flagButton.addEventListener("click", () => void quickClassify("flagged", flagButton));
  trustButton.addEventListener("click", () => void quickClassify("trusted", trustButton));

  deleteButton.addEventListener("click", async () => {
    if (!profile) return;
    const name = profileName(profile);
    const ok = await confirmDialog({
      title: `Delete ${name}?`,
      message: `The profile, its face samples and its ${profile.sighting_count} sighting${profile.sighting_count === 1 ? "" : "s"} with their snapshots will be deleted. Recordings are kept. This cannot be undone.`,
      confirmLabel: "Delete profile",
      danger: true,
      container: root,
    });
    if (!ok || !active) return;
    deleteButton.disabled = true;
    try {
      await api.del(base);
      toast(`Deleted ${name}.`, "success");
      releaseGuard(); // nothing left to save
      if (active) navigate("/profiles");
    } catch (error) {
      deleteButton.disabled = false;
      toast(`Could not delete ${name}: ${errorText(error)}`, "error");
    }
  });

  photosForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    photosError.textContent = "";
    photos.clearErrors();
    const files = photos.files();
    if (files.length === 0) {
      photosError.textContent = "Choose at least one photo first.";
      photos.input.focus();
      return;
    }
    const body = new FormData();
    for (const file of files) body.append("photo", file, file.name);
    photosButton.disabled = true;
    photosButton.textContent = files.length > 1 ? `Checking ${files.length} photos…` : "Checking the photo…";
    try {
      const result = await api.post<{ profile: Profile; added: number; evicted: number }>(`${base}/photos`, body);
      if (!active) return;
      photos.clear();
      showProfile(result.profile);
      void faces.load();
      const skipped = files.length - result.added;
      toast(
        (result.added === files.length
          ? `Added ${files.length} photo${files.length === 1 ? "" : "s"}`
          : `Added ${result.added} of ${files.length} photos`) +
          (result.evicted ? `, replacing ${result.evicted} weaker face sample${result.evicted === 1 ? "" : "s"}` : "") +
          (skipped > 0 ? `; ${skipped} ${skipped === 1 ? "was" : "were"} not better than the stored ones` : "") +
          ".",
        "success",
      );
    } catch (error) {
      if (!active) return;
      if (!photos.showError(error)) photosError.textContent = `The photos were not added: ${errorText(error)}`;
    } finally {
      photosButton.disabled = gone;
      photosButton.textContent = "Add photos";
    }
  });

  function item(s: Sighting, names: CameraNames, fresh = false): HTMLElement {
    const camera = names.name(s.camera_id);
    // A sighting moved to someone else leaves this history.
    return sightingItem(s, camera, profile, root, fresh, () => openSightingDialog(root, s, profile, camera, () => {
      void loadHistory();
      refreshFacts();
    }));
  }

  async function loadHistory(): Promise<void> {
    history.setAttribute("aria-busy", "true");
    if (!history.firstChild) replace(history, loading("Loading sightings…"));
    try {
      const [page, names] = await Promise.all([api.get<Page<Sighting>>(`${base}/sightings`, { page: historyPage, per_page: PER_PAGE }), cameras]);
      if (!active) return;
      historyTotal = page.total;
      historyCount.textContent = `(${page.total})`;
      if (page.items.length === 0) {
        replace(history, empty(historyPage > 1 ? "No sightings on this page." : "No sightings yet: no camera has seen this person."));
      } else {
        replace(history, h("ol", { class: "sighting-list", "data-testid": "sighting-list" }, page.items.map((s) => item(s, names))));
      }
      historyPager.show(historyPage, PER_PAGE, page.total);
    } catch (error) {
      if (!active) return;
      replace(history, failed(error, () => void loadHistory()));
    } finally {
      history.removeAttribute("aria-busy");
    }
  }

  async function prependSighting(s: Sighting): Promise<void> {
    if (historyPage !== 1) return;
    const names = await cameras;
    if (!active || history.querySelector(`[data-sighting-id="${CSS.escape(s.id)}"]`)) return;
    let list = history.querySelector<HTMLElement>(".sighting-list");
    if (!list) {
      list = h("ol", { class: "sighting-list", "data-testid": "sighting-list" });
      replace(history, list);
    }
    list.prepend(item(s, names, true));
    historyTotal++;
    historyCount.textContent = `(${historyTotal})`;
  }

  // Reloads the saved profile after a sighting (counts, last seen) without touching the form.
  function refreshFacts(): void {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(async () => {
      try {
        const p = await api.get<Profile>(base);
        if (active && !gone) showProfile(p);
      } catch {
        // The next event or a reload shows it; the page still works.
      }
    }, 800);
  }

  stops.push(
    onEvent((event) => {
      if (gone) return;
      const payload = event.payload;
      if (event.type === "ProfileUpdated") {
        const p = payload.profile as Profile | undefined;
        if (!p || p.id !== id || saving) return;
        showProfile(p);
        // A sighting or a correction added a face, or one was removed elsewhere.
        if (faces.count() !== null && faces.count() !== p.embedding_count) void faces.load();
        const remote = valuesOf(p);
        if (!dirty()) fillForm(remote);
        else if (baseline && same(remote, baseline)) {
          // Only counts or photos changed: the edits in progress are not affected.
        } else if (!same(formValues(), remote)) {
          const load = h("button", { type: "button", class: "button button-small", "data-testid": "notice-load" }, "Show their version");
          load.addEventListener("click", () => {
            if (profile) fillForm(valuesOf(profile));
            clearErrors();
            notice.hidden = true;
          });
          showNotice("This profile was changed elsewhere while you were editing. Saving will replace those changes with yours. ", load);
        } else {
          baseline = remote; // someone saved exactly what is in the form
          updateDirty();
        }
      } else if (event.type === "ProfileDeleted" && payload.profile_id === id) {
        setGone("This profile was deleted elsewhere. ", h("a", { href: "/profiles" }, "Back to profiles"));
      } else if (event.type === "ProfilesMerged" && ((payload.source_ids as string[] | undefined) ?? []).includes(id)) {
        setGone("This profile was merged into another one. ", h("a", { href: `/profiles/${String(payload.into)}` }, "Open the merged profile"));
      } else if (event.type === "NewSighting") {
        const s = payload.sighting as Sighting | undefined;
        if (!s || s.profile_id !== id) return;
        void prependSighting(s);
        refreshFacts();
      }
    }),
  );

  async function start(): Promise<void> {
    try {
      const p = await api.get<Profile>(base);
      if (!active) return;
      showProfile(p);
      fillForm(valuesOf(p));
      replace(
        root,
        h("p", { class: "breadcrumb" }, h("a", { href: "/profiles" }, "← Profiles")),
        h(
          "section",
          { class: "profile-hero card", "aria-labelledby": "profile-title" },
          photo,
          h("div", { class: "profile-hero-text" }, title, h("div", { class: "profile-hero-meta" }, pillHost, tagsHost)),
          h("div", { class: "profile-hero-actions" }, flagButton, trustButton, deleteButton),
        ),
        notice,
        h(
          "div",
          { class: "profile-columns" },
          form,
          h("div", { class: "profile-side" }, h("section", { class: "card", "aria-labelledby": "facts-title" }, h("h2", { id: "facts-title" }, "Facts"), facts), faces.element, similar.element, photosForm),
        ),
        h(
          "section",
          { class: "card profile-history", "aria-labelledby": "history-title" },
          h("h2", { id: "history-title" }, "Sightings ", historyCount),
          history,
          historyPager.element,
        ),
      );
      void loadHistory();
      void faces.load();
      void similar.load();
    } catch (error) {
      if (!active) return;
      if (error instanceof ApiError && error.status === 404) {
        replace(
          root,
          h("p", { class: "breadcrumb" }, h("a", { href: "/profiles" }, "← Profiles")),
          empty("This profile does not exist. It may have been deleted or merged into another one.", h("a", { href: "/profiles", class: "button" }, "All profiles")),
        );
      } else {
        replace(root, failed(error, () => void start()));
      }
    }
  }
  void start();

  return () => {
    active = false;
    window.clearTimeout(refreshTimer);
    for (const stop of stops) stop();
  };
}
