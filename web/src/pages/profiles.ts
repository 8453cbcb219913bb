// /profiles: everyone Safelynx knows, as a grid of faces with filters and
// paging kept in the URL, a selection mode for bulk delete / merge /
// classify, and the "Enrol a person" dialog. Refreshes itself (debounced)
// when profiles change elsewhere, keeping filters, selection and focus.
import { api, errorText, type Classification, type Page, type Profile } from "../api.js";
import { formatRelative, formatTime, h, profileName, replace } from "../dom.js";
import { onEvent } from "../events.js";
import { setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";
import { toast } from "../toast.js";
import { classificationLabel, classificationPill, classificationSelect, isClassification } from "../components/classification.js";
import { confirmDialog } from "../components/confirm-dialog.js";
import { faceThumb } from "../components/face-thumb.js";
import { openEnrolDialog } from "../components/enrol-dialog.js";
import { openMergeDialog } from "../components/merge-dialog.js";
import { pageCount, pageParam, pagerSlot } from "../components/pager.js";
import { mapLimit } from "../components/parallel.js";

const SORTS: Array<[string, string]> = [
  ["-created", "Newest first"],
  ["created", "Oldest first"],
  ["-last_seen", "Recently seen"],
  ["name", "Name (A–Z)"],
  ["-sighting_count", "Most sightings"],
];
const PER_PAGE = [24, 36, 48];
const LIVE_TYPES = new Set(["ProfileCreated", "ProfileUpdated", "ProfileDeleted", "ProfilesMerged"]);

interface Filters {
  q: string;
  classification: Classification | "";
  tag: string;
  sort: string;
  page: number;
  perPage: number;
}

function readFilters(query: URLSearchParams): Filters {
  const classification = query.get("classification");
  const sort = query.get("sort") ?? "";
  const perPage = Number(query.get("per_page"));
  return {
    q: query.get("q") ?? "",
    classification: isClassification(classification) ? classification : "",
    tag: query.get("tag") ?? "",
    sort: SORTS.some(([value]) => value === sort) ? sort : "-created",
    page: pageParam(query.get("page")),
    perPage: PER_PAGE.includes(perPage) ? perPage : PER_PAGE[0]!,
  };
}

function writeFilters(f: Filters): void {
  const query = new URLSearchParams();
  if (f.q) query.set("q", f.q);
  if (f.classification) query.set("classification", f.classification);
  if (f.tag) query.set("tag", f.tag);
  if (f.sort !== "-created") query.set("sort", f.sort);
  if (f.perPage !== PER_PAGE[0]) query.set("per_page", String(f.perPage));
  if (f.page > 1) query.set("page", String(f.page));
  setQuery(query);
}

const plural = (n: number, one: string, many = one + "s") => `${n} ${n === 1 ? one : many}`;

function field(label: string, control: HTMLElement, extra = ""): HTMLElement {
  return h("div", { class: "filter " + extra }, h("label", { for: control.id }, label), control);
}

interface CardSelection {
  selected: boolean;
  selecting: boolean; // the checkbox is shown
  onSelect: (selected: boolean) => void;
}

function profileCard(profile: Profile, { selected, selecting, onSelect }: CardSelection): HTMLElement {
  const name = profileName(profile);
  const element = h(
    "article",
    { class: "profile-card" + (selected ? " is-selected" : ""), "data-testid": "profile-card", "data-profile-id": profile.id },
    h(
      "a",
      { href: `/profiles/${profile.id}`, class: "profile-card-link", "data-testid": "profile-link" },
      h("span", { class: "profile-card-photo" }, faceThumb(profile.thumbnail_url, profile.name ?? "?", "medium")),
      h("span", { class: "profile-card-name" + (profile.name ? "" : " is-unnamed") }, name),
    ),
    h(
      "div",
      { class: "profile-card-meta" },
      classificationPill(profile.classification),
      h("span", {}, plural(profile.sighting_count, "sighting")),
    ),
    h(
      "p",
      { class: "profile-card-seen muted" },
      profile.last_seen ? h("time", { datetime: profile.last_seen, title: formatTime(profile.last_seen) }, `Seen ${formatRelative(profile.last_seen)}`) : "Never seen",
    ),
    profile.tags.length ? h("ul", { class: "tag-list", "aria-label": "Tags" }, profile.tags.map((t) => h("li", { class: "tag" }, t))) : null,
  );
  if (selecting) {
    const box = h("input", { type: "checkbox", class: "card-checkbox", checked: selected, "aria-label": `Select ${name}`, "data-testid": "profile-select" });
    box.addEventListener("change", () => {
      element.classList.toggle("is-selected", box.checked);
      onSelect(box.checked);
    });
    element.prepend(h("label", { class: "card-select", title: `Select ${name}` }, box));
  }
  return element;
}

// An empty grid: the way out of the filters, or of having no profiles at all.
function noProfiles(filtered: boolean, clearFilters: () => void, enrol: () => void): HTMLElement {
  return filtered
    ? empty("No profiles match these filters.", h("button", { type: "button", class: "button", onclick: () => clearFilters() }, "Clear filters"))
    : empty(
        "No profiles yet. Enrol a person from photos, or let the cameras add the faces they see.",
        h("button", { type: "button", class: "button button-primary", "data-needs": "operator", onclick: () => enrol() }, "Enrol a person"),
      );
}

// Runs an action over each profile, a few at a time; returns the failures.
async function eachProfile(list: Profile[], action: (p: Profile) => Promise<unknown>): Promise<{ done: Profile[]; failed: Array<[Profile, unknown]> }> {
  const done: Profile[] = [];
  const failures: Array<[Profile, unknown]> = [];
  await mapLimit(list, 3, async (p) => {
    try {
      await action(p);
      done.push(p);
    } catch (error) {
      failures.push([p, error]);
    }
  });
  return { done, failed: failures };
}

function reportFailures(verb: string, total: number, failures: Array<[Profile, unknown]>): void {
  if (failures.length === 0) return;
  const [first, error] = failures[0]!;
  toast(`${verb} ${total - failures.length} of ${total}. ${profileName(first)}: ${errorText(error)}`, "error", 10_000);
}

export function profilesPage({ root, query }: PageContext): Cleanup {
  const filters = readFilters(query);
  const selection = new Map<string, Profile>(); // id -> the profile as last seen
  let selecting = false;
  let active = true;
  let loadNumber = 0;
  let current: Page<Profile> | null = null;
  let refreshTimer: number | undefined;
  let typingTimer: number | undefined;

  // Header
  const count = h("span", { class: "muted", "data-testid": "profiles-total" });
  const selectToggle = h("button", { type: "button", class: "button", "aria-pressed": "false", "data-testid": "select-toggle", "data-needs": "operator" }, "Select");
  const enrolButton = h("button", { type: "button", class: "button button-primary", "data-testid": "enrol-open", "data-needs": "operator" }, "Enrol a person");

  // Filters
  const search = h("input", { type: "search", id: "profiles-q", value: filters.q, placeholder: "Name or notes", autocomplete: "off" });
  const classification = classificationSelect({ id: "profiles-classification" }, filters.classification, "All");
  const tag = h("input", { type: "text", id: "profiles-tag", value: filters.tag, placeholder: "e.g. family", autocomplete: "off" });
  const sort = h("select", { id: "profiles-sort" }, SORTS.map(([value, label]) => h("option", { value, selected: value === filters.sort }, label)));
  const perPage = h("select", { id: "profiles-per-page" }, PER_PAGE.map((n) => h("option", { value: String(n), selected: n === filters.perPage }, `${n} per page`)));
  const toolbar = h(
    "form",
    { class: "toolbar filters", role: "search", "aria-label": "Filter profiles", onsubmit: (e: Event) => e.preventDefault() },
    field("Search", search, "filter-grow"),
    field("Classification", classification),
    field("Tag", tag),
    field("Sort by", sort),
    field("Show", perPage),
  );

  // Bulk actions
  const selectedCount = h("strong", { "aria-live": "polite", "data-testid": "selected-count" });
  const selectPage = h("button", { type: "button", class: "button button-small", "data-testid": "select-page" }, "Select all on this page");
  const clearSelection = h("button", { type: "button", class: "button button-small" }, "Clear selection");
  const bulkClassification = classificationSelect({ id: "bulk-classification" }, "known");
  const classifyButton = h("button", { type: "button", class: "button button-small", "data-testid": "bulk-classify" }, "Apply");
  const mergeButton = h("button", { type: "button", class: "button button-small", "data-testid": "bulk-merge" }, "Merge…");
  const deleteButton = h("button", { type: "button", class: "button button-small button-danger", "data-testid": "bulk-delete" }, "Delete…");
  const bulkBar = h(
    "section",
    { class: "bulk-bar", "aria-label": "Actions on selected profiles", "data-testid": "bulk-bar", hidden: true },
    selectedCount,
    h("div", { class: "bulk-group" }, selectPage, clearSelection),
    h("div", { class: "bulk-group" }, h("label", { for: bulkClassification.id, class: "inline-label" }, "Classify as"), bulkClassification, classifyButton),
    h("div", { class: "bulk-group" }, mergeButton, deleteButton),
  );

  const results = h("div", { class: "profiles-results", "aria-live": "off" });
  const pages = pagerSlot(
    "Profiles",
    (n) => {
      filters.page = n;
      writeFilters(filters);
      void load();
    },
    () => root.querySelector("h1"),
  );

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Profiles ", count), h("div", { class: "header-actions" }, selectToggle, enrolButton)),
    toolbar,
    bulkBar,
    results,
    pages.element,
  );

  function updateBulkBar(): void {
    const n = selection.size;
    bulkBar.hidden = !selecting;
    selectedCount.textContent = `${plural(n, "profile")} selected`;
    classifyButton.disabled = n === 0;
    deleteButton.disabled = n === 0;
    mergeButton.disabled = n < 2;
    mergeButton.title = n < 2 ? "Select at least two profiles to merge" : "";
    clearSelection.disabled = n === 0;
    selectPage.disabled = !current || current.items.length === 0 || current.items.every((p) => selection.has(p.id));
  }

  function setSelecting(on: boolean): void {
    selecting = on;
    selectToggle.setAttribute("aria-pressed", String(on));
    selectToggle.textContent = on ? "Done selecting" : "Select";
    root.classList.toggle("is-selecting", on);
    if (current) renderGrid(current);
    updateBulkBar();
  }

  function card(profile: Profile): HTMLElement {
    return profileCard(profile, {
      selected: selection.has(profile.id),
      selecting,
      onSelect: (on) => {
        if (on) selection.set(profile.id, profile);
        else selection.delete(profile.id);
        updateBulkBar();
      },
    });
  }

  function renderGrid(page: Page<Profile>): void {
    // Keep the keyboard focus on the same card across a refresh.
    const focused = document.activeElement instanceof HTMLElement && results.contains(document.activeElement) ? document.activeElement : null;
    const focusId = focused?.closest<HTMLElement>("[data-profile-id]")?.dataset.profileId;
    const focusCheckbox = focused?.classList.contains("card-checkbox") ?? false;

    count.textContent = `(${page.total})`;
    if (page.items.length === 0) {
      replace(results, noProfiles(Boolean(filters.q || filters.classification || filters.tag), resetFilters, enrol));
    } else {
      replace(results, h("div", { class: "profile-grid", "data-testid": "profile-grid" }, page.items.map(card)));
    }
    pages.show(page.page, page.per_page, page.total);
    if (focusId) {
      const again = results.querySelector<HTMLElement>(`[data-profile-id="${CSS.escape(focusId)}"] ${focusCheckbox ? ".card-checkbox" : "a"}`);
      again?.focus();
    }
  }

  async function load(quiet = false): Promise<void> {
    const number = ++loadNumber;
    if (!current && !quiet) replace(results, loading("Loading profiles…"));
    results.setAttribute("aria-busy", "true");
    if (!quiet) results.classList.add("is-loading");
    try {
      const page = await api.get<Page<Profile>>("/api/v1/profiles", {
        q: filters.q,
        classification: filters.classification,
        tag: filters.tag,
        sort: filters.sort,
        page: filters.page,
        per_page: filters.perPage,
      });
      if (!active || number !== loadNumber) return;
      // Past the last page (after deletions, or an old link): show the last one.
      const last = pageCount(page.total, filters.perPage);
      if (filters.page > last && page.total > 0) {
        filters.page = last;
        writeFilters(filters);
        return load(quiet);
      }
      current = page;
      for (const p of page.items) if (selection.has(p.id)) selection.set(p.id, p);
      renderGrid(page);
      updateBulkBar();
    } catch (error) {
      if (!active || number !== loadNumber) return;
      if (quiet && current) {
        toast(`Could not refresh the profiles: ${errorText(error)}`, "error");
      } else {
        current = null;
        count.textContent = "";
        replace(results, failed(error, () => void load()));
        pages.clear();
      }
    } finally {
      if (number === loadNumber) {
        results.removeAttribute("aria-busy");
        results.classList.remove("is-loading");
      }
    }
  }

  function filtersChanged(): void {
    filters.q = search.value.trim();
    filters.tag = tag.value.trim();
    filters.classification = isClassification(classification.value) ? classification.value : "";
    filters.sort = sort.value;
    filters.perPage = Number(perPage.value);
    filters.page = 1;
    writeFilters(filters);
    void load();
  }

  function resetFilters(): void {
    search.value = "";
    tag.value = "";
    classification.value = "";
    filtersChanged();
    search.focus();
  }

  const typed = () => {
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(filtersChanged, 350);
  };
  search.addEventListener("input", typed);
  tag.addEventListener("input", typed);
  for (const control of [classification, sort, perPage]) control.addEventListener("change", filtersChanged);

  function enrol(): void {
    openEnrolDialog(root, () => active);
  }

  enrolButton.addEventListener("click", enrol);
  selectToggle.addEventListener("click", () => setSelecting(!selecting));
  selectPage.addEventListener("click", () => {
    for (const p of current?.items ?? []) selection.set(p.id, p);
    if (current) renderGrid(current);
    updateBulkBar();
  });
  clearSelection.addEventListener("click", () => {
    selection.clear();
    if (current) renderGrid(current);
    updateBulkBar();
  });

  const busy = (on: boolean) => {
    for (const b of [classifyButton, mergeButton, deleteButton, selectPage, clearSelection]) b.disabled = on;
    bulkBar.setAttribute("aria-busy", String(on));
    if (!on) updateBulkBar();
  };

  classifyButton.addEventListener("click", async () => {
    const value = bulkClassification.value as Classification;
    const total = selection.size;
    busy(true);
    const result = await eachProfile([...selection.values()], (p) => api.put<Profile>(`/api/v1/profiles/${p.id}`, { classification: value }));
    if (!active) return;
    busy(false);
    if (result.done.length) toast(`${plural(result.done.length, "profile")} marked ${classificationLabel(value)}.`, "success");
    reportFailures("Classified", total, result.failed);
    void load(true);
  });

  deleteButton.addEventListener("click", async () => {
    const total = selection.size;
    const ok = await confirmDialog({
      title: `Delete ${plural(total, "profile")}?`,
      message:
        `${total === 1 ? "This profile" : `These ${total} profiles`}, ${total === 1 ? "its" : "their"} face samples, sightings and snapshots will be deleted. ` +
        "Recordings are kept. This cannot be undone.",
      confirmLabel: `Delete ${plural(total, "profile")}`,
      danger: true,
      container: root,
    });
    if (!ok || !active) return;
    busy(true);
    const result = await eachProfile([...selection.values()], (p) => api.del(`/api/v1/profiles/${p.id}`));
    if (!active) return;
    for (const p of result.done) selection.delete(p.id);
    busy(false);
    if (result.done.length) toast(`Deleted ${plural(result.done.length, "profile")}.`, "success");
    reportFailures("Deleted", total, result.failed);
    void load(true);
  });

  mergeButton.addEventListener("click", () => {
    openMergeDialog(root, [...selection.values()], (merged, sourceIds) => {
      if (!active) return;
      for (const id of sourceIds) selection.delete(id);
      selection.set(merged.id, merged);
      toast(`Merged ${plural(sourceIds.length + 1, "profile")} into ${profileName(merged)}.`, "success");
      void load(true);
    });
  });

  // Live: changes made elsewhere (another tab, the cameras, the API).
  const unsubscribe = onEvent((event) => {
    if (!LIVE_TYPES.has(event.type)) return;
    if (event.type === "ProfileDeleted") selection.delete(String(event.payload.profile_id));
    if (event.type === "ProfilesMerged") {
      for (const id of (event.payload.source_ids as string[] | undefined) ?? []) selection.delete(id);
    }
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => void load(true), 600);
  });

  updateBulkBar();
  void load();

  return () => {
    active = false;
    unsubscribe();
    window.clearTimeout(refreshTimer);
    window.clearTimeout(typingTimer);
  };
}
