// /timeline: every sighting, newest first, filtered by person, camera,
// classification and time range (all kept in the URL), with sightings per
// hour or day charted above and the list grouped by day. A click opens the
// frame and the recording at that moment. New sightings appear live when the
// range includes now.
import { api, errorText, type Page, type Sighting, type TimelineCounts } from "../api.js";
import { formatTime, h, profileName, replace } from "../dom.js";
import { formatClock, formatDate } from "../time.js";
import { onEvent } from "../events.js";
import { setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";
import { toast } from "../toast.js";
import { cameraOptions, loadCameraNames, type CameraNames } from "../components/camera-names.js";
import { classificationPill, classificationSelect, isClassification } from "../components/classification.js";
import { faceThumb } from "../components/face-thumb.js";
import { pageParam, pagerSlot } from "../components/pager.js";
import { ProfileLookup, type ProfileSummary } from "../components/profile-lookup.js";
import { profilePicker } from "../components/profile-picker.js";
import { openSightingDialog } from "../components/sighting-dialog.js";
import { timelineChart } from "../components/timeline-chart.js";
import { rangeFields, validIso } from "../components/time-range.js";

const PER_PAGE = 50;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_CHART_MS = 92 * DAY_MS; // the API's longest timeline window

interface Filters {
  profile: string;
  camera: string;
  classification: string;
  from: string | null;
  to: string | null;
  page: number;
}

function dayLabel(date: Date): string {
  const today = new Date();
  const yesterday = new Date(today.getTime() - DAY_MS);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return formatDate(date, { weekday: true });
}

// `profile`: null when it was deleted, undefined when it could not be loaded;
// `open` shows the frame and the recording.
function timelineEntry(s: Sighting, profile: ProfileSummary | null | undefined, camera: string, open: () => void, fresh = false): HTMLElement {
  const name = profile ? profileName(profile) : profile === null ? "Deleted profile" : `Profile ${s.profile_id.slice(0, 8)}`;
  const button = h(
    "button",
    { type: "button", class: "timeline-entry", "data-testid": "timeline-entry", "data-sighting-id": s.id },
    faceThumb(s.snapshot_url, profile?.name ?? "?", "small"),
    h("span", { class: "timeline-entry-main" }, h("span", { class: "timeline-entry-name" }, name), profile ? classificationPill(profile.classification) : null),
    h("span", { class: "timeline-entry-meta muted" }, h("span", {}, camera), h("time", { datetime: s.time, title: formatTime(s.time) }, formatClock(s.time))),
    // The name is the visible text (WCAG 2.5.3, label in name) and then what the button does.
    h("span", { class: "visually-hidden" }, "Show frame and recording"),
  );
  button.addEventListener("click", open);
  return h("li", { class: fresh ? "is-new" : "" }, button);
}

// A day's heading and its (empty) list of entries.
function dayGroup(date: Date): HTMLElement {
  return h(
    "section",
    { class: "timeline-day", "data-day": date.toDateString() },
    h("h3", { class: "timeline-day-title" }, dayLabel(date)),
    h("ol", { class: "timeline-entries" }),
  );
}

// Sightings (newest first) under the days they fall on.
function dayGroups(items: Sighting[], entry: (s: Sighting) => HTMLElement): HTMLElement[] {
  const days: HTMLElement[] = [];
  for (const s of items) {
    const date = new Date(s.time);
    let day = days[days.length - 1];
    if (!day || day.dataset.day !== date.toDateString()) days.push((day = dayGroup(date)));
    day.querySelector("ol")!.append(entry(s));
  }
  return days;
}

// The chart's window: the filter's range (to defaults to now, from to 24 h
// before to), at most the API's 92 days.
function chartWindow(fromFilter: string | null, toFilter: string | null): { from: Date; to: Date; note: string } {
  const to = toFilter ? new Date(toFilter) : new Date();
  let from = fromFilter ? new Date(fromFilter) : new Date(to.getTime() - DAY_MS);
  let note = fromFilter ? "" : "Last 24 hours shown.";
  if (to.getTime() - from.getTime() > MAX_CHART_MS) {
    from = new Date(to.getTime() - MAX_CHART_MS);
    note = "The chart shows the last 92 days of the range.";
  }
  return { from, to, note };
}

export function timelinePage({ root, query }: PageContext): Cleanup {
  const classification = query.get("classification");
  const filters: Filters = {
    profile: query.get("profile") ?? "",
    camera: query.get("camera") ?? "",
    classification: isClassification(classification) ? classification : "",
    from: validIso(query.get("from")),
    to: validIso(query.get("to")),
    page: pageParam(query.get("page")),
  };
  let active = true;
  let loadNumber = 0;
  let total = 0;
  let cameras: CameraNames | null = null;
  const lookup = new ProfileLookup();

  const writeFilters = () => {
    const q = new URLSearchParams();
    if (filters.profile) q.set("profile", filters.profile);
    if (filters.camera) q.set("camera", filters.camera);
    if (filters.classification) q.set("classification", filters.classification);
    if (filters.from) q.set("from", filters.from);
    if (filters.to) q.set("to", filters.to);
    if (filters.page > 1) q.set("page", String(filters.page));
    setQuery(q);
  };
  const changed = () => {
    filters.page = 1;
    writeFilters();
    void loadAll();
  };

  const picker = profilePicker({
    id: "timeline-profile",
    label: "Person",
    onChange: (p) => {
      filters.profile = p?.id ?? "";
      if (p) lookup.remember(p);
      changed();
    },
  });
  const cameraSelect = h("select", { id: "timeline-camera" }, h("option", { value: "" }, "All cameras"));
  const classSelect = classificationSelect({ id: "timeline-classification" }, filters.classification, "All");
  cameraSelect.addEventListener("change", () => {
    filters.camera = cameraSelect.value;
    changed();
  });
  classSelect.addEventListener("change", () => {
    filters.classification = classSelect.value;
    changed();
  });
  const range = rangeFields("timeline", { from: filters.from, to: filters.to }, (r) => {
    filters.from = r.from;
    filters.to = r.to;
    changed();
  });

  const chart = timelineChart();
  const count = h("span", { class: "muted", "data-testid": "timeline-total" });
  const list = h("div", { class: "timeline-list" });
  const pages = pagerSlot(
    "Sightings",
    (n) => {
      filters.page = n;
      writeFilters();
      void loadList();
    },
    () => list,
  );

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Timeline ", count)),
    h(
      "form",
      { class: "toolbar filters", role: "search", "aria-label": "Filter sightings", onsubmit: (e: Event) => e.preventDefault() },
      picker.element,
      h("div", { class: "filter" }, h("label", { for: cameraSelect.id }, "Camera"), cameraSelect),
      h("div", { class: "filter" }, h("label", { for: classSelect.id }, "Classification"), classSelect),
      range.element,
    ),
    chart.element,
    h("section", { "aria-labelledby": "timeline-list-title" }, h("h2", { id: "timeline-list-title", class: "visually-hidden" }, "Sightings"), list),
    pages.element,
  );

  function entry(s: Sighting, profile: ProfileSummary | null | undefined, fresh = false): HTMLElement {
    const camera = cameras?.name(s.camera_id) ?? "";
    return timelineEntry(s, profile, camera, () => openSightingDialog(root, s, profile, camera, () => void loadList()), fresh);
  }

  async function profilesFor(items: Sighting[]): Promise<Map<string, ProfileSummary | null | undefined>> {
    const ids = [...new Set(items.map((s) => s.profile_id))];
    let failures = 0;
    const found = await Promise.all(
      ids.map((id) =>
        lookup.get(id).catch(() => {
          failures++;
          return undefined;
        }),
      ),
    );
    if (failures && active) toast(`The names of ${failures} ${failures === 1 ? "person" : "people"} could not be loaded.`, "error");
    return new Map(ids.map((id, i) => [id, found[i]]));
  }

  async function loadList(): Promise<void> {
    const number = ++loadNumber;
    list.setAttribute("aria-busy", "true");
    if (!list.querySelector(".timeline-day")) replace(list, loading("Loading sightings…"));
    else list.classList.add("is-loading");
    try {
      const page = await api.get<Page<Sighting>>("/api/v1/sightings", {
        profile_id: filters.profile,
        camera_id: filters.camera,
        classification: filters.classification,
        from: filters.from,
        to: filters.to,
        page: filters.page,
        per_page: PER_PAGE,
      });
      lookup.rememberFrom(page.items);
      const profiles = await profilesFor(page.items);
      if (!active || number !== loadNumber) return;
      total = page.total;
      count.textContent = `(${page.total})`;
      if (page.items.length === 0) {
        const filtered = filters.profile || filters.camera || filters.classification || filters.from || filters.to;
        replace(list, empty(filtered ? "No sightings match these filters." : "No sightings yet. They appear here when a camera recognises a face."));
      } else {
        replace(list, dayGroups(page.items, (s) => entry(s, profiles.get(s.profile_id))));
      }
      pages.show(filters.page, PER_PAGE, page.total);
    } catch (error) {
      if (!active || number !== loadNumber) return;
      count.textContent = "";
      replace(list, failed(error, () => void loadList()));
      pages.clear();
    } finally {
      if (number === loadNumber) {
        list.removeAttribute("aria-busy");
        list.classList.remove("is-loading");
      }
    }
  }

  async function loadChart(): Promise<void> {
    const window_ = chartWindow(filters.from, filters.to);
    // By day when longer than 3 days.
    const bucket = window_.to.getTime() - window_.from.getTime() > 3 * DAY_MS ? "day" : "hour";
    try {
      const series = await api.get<TimelineCounts>("/api/v1/analytics/timeline", {
        from: window_.from.toISOString(),
        to: window_.to.toISOString(),
        bucket,
      });
      if (!active) return;
      const filtered = filters.profile || filters.camera || filters.classification;
      chart.render(series, [window_.note, filtered ? "The chart counts everyone on every camera." : ""].filter(Boolean).join(" "));
    } catch (error) {
      if (!active) return;
      chart.clear(h("p", { class: "state-error", role: "alert" }, `The chart could not be loaded: ${errorText(error)}`));
    }
  }

  function loadAll(): Promise<unknown> {
    return Promise.all([loadList(), loadChart()]);
  }

  const includesNow = () => !filters.to || new Date(filters.to).getTime() > Date.now();

  async function arrived(s: Sighting): Promise<void> {
    if (!includesNow()) return;
    if (!filters.to) chart.add(s.time);
    if (filters.page !== 1) return;
    if (filters.from && new Date(s.time) < new Date(filters.from)) return;
    if (filters.profile && s.profile_id !== filters.profile) return;
    if (filters.camera && s.camera_id !== filters.camera) return;
    const profile = await lookup.get(s.profile_id).catch(() => undefined);
    if (!active || (filters.classification && profile?.classification !== filters.classification)) return;
    if (list.querySelector(`[data-sighting-id="${CSS.escape(s.id)}"]`)) return;
    const date = new Date(s.time);
    let day = list.querySelector<HTMLElement>(".timeline-day");
    if (!day || day.dataset.day !== date.toDateString()) {
      day = dayGroup(date);
      if (!list.querySelector(".timeline-day")) replace(list, day);
      else list.prepend(day);
    }
    day.querySelector("ol")!.prepend(entry(s, profile, true));
    total++;
    count.textContent = `(${total})`;
  }

  const unsubscribe = onEvent((event) => {
    if (event.type === "NewSighting") {
      const s = event.payload.sighting as Sighting | undefined;
      if (s) void arrived(s);
    } else if (event.type === "ProfileDeleted") {
      lookup.forget(String(event.payload.profile_id));
    } else if (event.type === "ProfileUpdated" || event.type === "ProfileCreated") {
      const p = event.payload.profile as ProfileSummary | undefined;
      if (p) lookup.remember(p);
    }
  });

  async function start(): Promise<void> {
    const [names] = await Promise.all([
      loadCameraNames(),
      filters.profile
        ? lookup.get(filters.profile).then(
            (p) => picker.set(p ?? { id: filters.profile, name: null, classification: "unknown", thumbnail_url: null }),
            () => undefined,
          )
        : Promise.resolve(),
    ]);
    if (!active) return;
    cameras = names;
    cameraSelect.append(...cameraOptions(names, filters.camera));
    await loadAll();
  }
  replace(list, loading("Loading sightings…"));
  void start();

  return () => {
    active = false;
    unsubscribe();
    picker.dispose();
  };
}
