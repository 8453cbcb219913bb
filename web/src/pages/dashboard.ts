// The dashboard: who is known, what the cameras saw today, and whether the
// system is healthy (cameras, storage). Every section loads on its own and
// stays current from the server's events without a reload.
import { ApiError, api, errorText, type Camera, type Classification, type Page, type Sighting } from "../api.js";
import { cameraStatusBadge, listAllCameras } from "../components/camera-info.js";
import { faceThumb } from "../components/face-thumb.js";
import { hourlyChart } from "../components/hourly-chart.js";
import { loadFailed } from "../components/load-error.js";
import { openSightingDialog } from "../components/sighting-dialog.js";
import { formatBytes, formatRelative, formatTime, h, profileName, replace } from "../dom.js";
import { onConnection, onEvent, type ServerEvent } from "../events.js";
import type { Cleanup, PageContext } from "../router.js";
import { empty, loading } from "../states.js";
import { toast } from "../toast.js";

interface ProfileSummary {
  id: string;
  name: string | null;
  classification: Classification;
  thumbnail_url: string | null;
}

interface DashboardData {
  profiles: { total: number; by_classification: Partial<Record<Classification, number>> };
  new_profiles: { today: number; this_week: number };
  most_seen: Array<{ profile: ProfileSummary; sightings: number }>;
  sightings_per_hour: { from: string; counts: number[] };
}

interface StorageData {
  used_bytes: number;
  quota_bytes: number;
  used_fraction: number;
  by_kind: Record<string, number>;
}

const classifications: Classification[] = ["trusted", "known", "unknown", "flagged"];
const RECENT = 10;

function section(id: string, title: string, action?: HTMLElement | null): { element: HTMLElement; body: HTMLElement } {
  const body = h("div", { class: "dash-body" });
  const element = h(
    "section",
    { class: "card dash-section", "aria-labelledby": id + "-title", "data-testid": id },
    h("div", { class: "dash-section-head" }, h("h2", { id: id + "-title" }, title), action),
    body,
  );
  return { element, body };
}

function relativeTime(iso: string): HTMLElement {
  return h("time", { datetime: iso, title: formatTime(iso), "data-relative": "" }, formatRelative(iso));
}

function countTile(label: string, value: number, href: string | null, kind: string, testid: string): HTMLElement {
  const content = [h("span", { class: "stat" }, String(value)), h("span", { class: "dash-tile-label" }, label)];
  return href
    ? h("a", { class: `dash-tile dash-tile-${kind}`, href, "data-testid": testid }, content)
    : h("div", { class: `dash-tile dash-tile-${kind}`, "data-testid": testid }, content);
}

function countTiles(data: DashboardData): HTMLElement {
  return h(
    "div",
    { class: "dash-tiles" },
    countTile("Total", data.profiles.total, "/profiles", "total", "count-total"),
    classifications.map((c) =>
      countTile(c[0]!.toUpperCase() + c.slice(1), data.profiles.by_classification[c] ?? 0, `/profiles?classification=${c}`, c, `count-${c}`),
    ),
    countTile("New today", data.new_profiles.today, null, "new", "count-new-today"),
    countTile("New this week", data.new_profiles.this_week, null, "new", "count-new-week"),
  );
}

function mostSeenList(data: DashboardData): HTMLElement {
  if (data.most_seen.length === 0) return empty("Nobody has been sighted in the last 7 days.");
  return h(
    "ol",
    { class: "dash-people" },
    data.most_seen.map(({ profile, sightings }) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: `/profiles/${profile.id}`, class: "dash-person" },
          faceThumb(profile.thumbnail_url, profileName(profile)),
          h("span", { class: "dash-person-name" }, profileName(profile)),
          h("span", { class: `pill pill-${profile.classification}` }, profile.classification),
          h("span", { class: "dash-person-count muted" }, `${sightings} sighting${sightings === 1 ? "" : "s"}`),
        ),
      ),
    ),
  );
}

// `p`: null when the profile is gone, undefined when it could not be loaded now.
// The photo opens the sighting (frame and recording), as on the Timeline.
function sightingItem(s: Sighting, p: ProfileSummary | null | undefined, camera: string, open: () => void): HTMLElement {
  const name = p ? profileName(p) : p === null ? "Deleted profile" : `Profile ${s.profile_id.slice(0, 8)}`;
  const photo = h(
    "button",
    { type: "button", class: "dash-sighting-photo", "data-testid": "sighting-photo", "aria-haspopup": "dialog" },
    faceThumb(s.snapshot_url, name, "medium"),
    h("span", { class: "visually-hidden" }, `Show the sighting of ${name} by ${camera}`),
  );
  photo.addEventListener("click", open);
  return h(
    "li",
    { class: "dash-sighting", "data-testid": "sighting-item", "data-sighting-id": s.id, "data-profile-id": s.profile_id },
    photo,
    h(
      "div",
      { class: "dash-sighting-text" },
      h(
        "div",
        { class: "dash-sighting-who" },
        p !== null ? h("a", { href: `/profiles/${s.profile_id}` }, name) : h("span", {}, name),
        p ? h("span", { class: `pill pill-${p.classification}` }, p.classification) : null,
      ),
      h("div", { class: "muted dash-sighting-where" }, h("span", {}, camera), " · ", relativeTime(s.time)),
    ),
  );
}

function cameraList(cameras: Camera[]): HTMLElement {
  if (cameras.length === 0) return empty("No cameras yet.", h("a", { href: "/cameras", class: "button" }, "Add a camera"));
  return h(
    "ul",
    { class: "dash-cameras" },
    cameras.map((c) =>
      h(
        "li",
        { "data-testid": "dashboard-camera", "data-camera-id": c.id },
        h("div", { class: "dash-camera-line" }, h("a", { href: "/live" }, c.name), cameraStatusBadge(c.status)),
        c.status === "error" && c.status_message ? h("p", { class: "dash-camera-error" }, c.status_message) : null,
      ),
    ),
  );
}

function storageUse(data: StorageData): Array<HTMLElement | null> {
  const fraction = data.quota_bytes > 0 ? data.used_bytes / data.quota_bytes : data.used_fraction;
  const percent = Math.round(fraction * 1000) / 10;
  const bar = h("span", { class: "dash-meter-fill" });
  bar.style.width = `${Math.min(100, Math.max(0, percent))}%`;
  const high = fraction > 0.9;
  return [
    h("p", { class: "dash-storage-line" }, h("strong", {}, `${percent}%`), ` used: ${formatBytes(data.used_bytes)} of ${formatBytes(data.quota_bytes)}`),
    h(
      "div",
      {
        class: "dash-meter" + (high ? " dash-meter-high" : ""),
        role: "progressbar",
        "aria-label": "Storage used",
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": percent,
        "aria-valuetext": `${percent}% of the quota`,
        "data-testid": "storage-meter",
      },
      bar,
    ),
    high ? h("p", { class: "dash-storage-warn" }, "Almost full: old recordings and snapshots are removed when automatic clean-up is on.") : null,
    h(
      "dl",
      { class: "dash-kinds" },
      Object.entries(data.by_kind).map(([kind, bytes]) => [h("dt", {}, kind[0]!.toUpperCase() + kind.slice(1)), h("dd", {}, formatBytes(bytes))]),
    ),
  ];
}

// The StorageWarning event's message, with a link to the quota.
function storageWarning(payload: Record<string, unknown>): Array<Node | string> {
  const used = Number(payload.used_bytes ?? 0);
  const quota = Number(payload.quota_bytes ?? 0);
  return [
    h("strong", {}, "Storage warning: "),
    String(payload.message ?? "disk use is above 90% of the quota"),
    quota > 0 ? ` (${formatBytes(used)} of ${formatBytes(quota)}). ` : ". ",
    h("a", { href: "/settings" }, "Storage settings"),
  ];
}

export function dashboardPage({ root }: PageContext): Cleanup {
  let alive = true;
  let dashboard: DashboardData | null = null;
  let refreshTimer: number | undefined;
  const cameras = new Map<string, Camera>();
  let camerasLoaded = false;
  const profiles = new Map<string, Promise<ProfileSummary | null | undefined>>();
  let recent: Sighting[] = [];
  let recentLoaded = false;

  const warning = h("div", { class: "notice dash-warning", role: "alert", "data-testid": "storage-warning", hidden: true });
  const counts = section("dash-counts", "Profiles", h("a", { href: "/profiles", class: "dash-more" }, "All profiles"));
  const chart = hourlyChart("Sightings per hour, last 24 hours");
  const activity = section("dash-activity", "Sightings per hour", h("a", { href: "/timeline", class: "dash-more" }, "Timeline"));
  const recentSection = section("dash-recent", "Recent sightings", h("a", { href: "/timeline", class: "dash-more" }, "All sightings"));
  const mostSeen = section("dash-most-seen", "Most seen this week");
  const cameraSection = section("dash-cameras", "Cameras", h("a", { href: "/cameras", class: "dash-more" }, "Manage"));
  const storage = section("dash-storage", "Storage", h("a", { href: "/settings", class: "dash-more" }, "Quota settings"));

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Dashboard")),
    warning,
    counts.element,
    h("div", { class: "dash-grid" }, activity.element, recentSection.element),
    h("div", { class: "dash-grid dash-grid-3" }, mostSeen.element, cameraSection.element, storage.element),
  );

  // ---- counts, most seen, chart: GET /api/v1/analytics/dashboard

  function renderMostSeen(data: DashboardData): void {
    replace(mostSeen.body, mostSeenList(data));
  }

  function renderDashboard(data: DashboardData): void {
    replace(counts.body, countTiles(data));
    renderMostSeen(data);
    chart.render(data.sightings_per_hour);
    if (!chart.element.isConnected) replace(activity.body, chart.element);
  }

  async function loadDashboard(): Promise<void> {
    if (!dashboard) for (const s of [counts, activity, mostSeen]) replace(s.body, loading());
    try {
      const data = await api.get<DashboardData>("/api/v1/analytics/dashboard");
      if (!alive) return;
      dashboard = data;
      renderDashboard(data);
    } catch (error) {
      if (!alive) return;
      if (dashboard) toast(`Could not refresh the dashboard: ${errorText(error)}`, "error");
      else for (const s of [counts, activity, mostSeen]) replace(s.body, loadFailed("the dashboard figures", error, () => void loadDashboard()));
    }
  }

  // Bursts of events (an import, a busy camera) make one request, at most one a second.
  function refreshSoon(): void {
    if (refreshTimer !== undefined) return;
    refreshTimer = window.setTimeout(() => {
      refreshTimer = undefined;
      void loadDashboard();
    }, 1000);
  }

  // ---- recent sightings: GET /api/v1/sightings + the profiles they name

  // null: the profile is gone; undefined: it could not be loaded now.
  let profileErrorShown = 0;
  function profile(id: string): Promise<ProfileSummary | null | undefined> {
    let known = profiles.get(id);
    if (!known) {
      known = api.get<ProfileSummary>(`/api/v1/profiles/${id}`).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null;
        profiles.delete(id); // try again next time
        if (alive && Date.now() - profileErrorShown > 10_000) {
          profileErrorShown = Date.now();
          toast(`Could not load profile names: ${errorText(error)}`, "error");
        }
        return undefined;
      });
      profiles.set(id, known);
    }
    return known;
  }

  function remember(p: ProfileSummary): void {
    profiles.set(p.id, Promise.resolve(p));
  }

  function cameraName(id: string): string {
    return cameras.get(id)?.name ?? (camerasLoaded ? "Removed camera" : `Camera ${id.slice(0, 8)}`);
  }

  function item(s: Sighting, p: ProfileSummary | null | undefined): HTMLElement {
    const camera = cameraName(s.camera_id);
    return sightingItem(s, p, camera, () => openSightingDialog(root, s, p, camera, () => void loadRecent()));
  }

  // The container stays in place (and visible) whether it lists sightings or says there are none.
  const recentList = h("ul", { class: "dash-sightings", "aria-live": "polite" });
  const recentBox = h("div", { "data-testid": "recent-sightings" }, recentList);

  async function renderRecent(): Promise<void> {
    const resolved = await Promise.all(recent.map((s) => profile(s.profile_id)));
    if (!alive) return;
    replace(recentList, recent.map((s, i) => item(s, resolved[i])));
    replace(recentBox, recentList, recent.length === 0 ? empty("No sightings yet. They appear here as soon as a camera recognises a face.") : null);
    if (!recentBox.isConnected) replace(recentSection.body, recentBox);
  }

  async function loadRecent(): Promise<void> {
    if (!recentLoaded) replace(recentSection.body, loading());
    try {
      const page = await api.get<Page<Sighting>>("/api/v1/sightings", { per_page: RECENT });
      if (!alive) return;
      recent = page.items;
      for (const s of page.items) if (s.profile !== undefined) profiles.set(s.profile_id, Promise.resolve(s.profile));
      recentLoaded = true;
      await renderRecent();
    } catch (error) {
      if (!alive) return;
      if (recentLoaded) toast(`Could not refresh recent sightings: ${errorText(error)}`, "error");
      else replace(recentSection.body, loadFailed("recent sightings", error, () => void loadRecent()));
    }
  }

  async function addSighting(s: Sighting): Promise<void> {
    chart.add(s.time);
    if (dashboard) {
      const entry = dashboard.most_seen.find((m) => m.profile.id === s.profile_id);
      if (entry) {
        entry.sightings++;
        dashboard.most_seen.sort((a, b) => b.sightings - a.sightings);
        renderMostSeen(dashboard);
      } else {
        refreshSoon(); // someone who may now be among the most seen
      }
    }
    if (!recentLoaded || recent.some((r) => r.id === s.id)) return;
    const p = await profile(s.profile_id);
    if (!alive || recent.some((r) => r.id === s.id)) return;
    recent = [s, ...recent].slice(0, RECENT);
    if (recent.length === 1) {
      await renderRecent();
      return;
    }
    recentList.prepend(item(s, p));
    while (recentList.children.length > RECENT) recentList.lastElementChild?.remove();
  }

  // ---- cameras

  function renderCameras(): void {
    replace(cameraSection.body, cameraList([...cameras.values()]));
  }

  async function loadCameras(): Promise<void> {
    if (!camerasLoaded) replace(cameraSection.body, loading());
    try {
      const list = await listAllCameras();
      if (!alive) return;
      cameras.clear();
      for (const c of list) cameras.set(c.id, c);
      camerasLoaded = true;
      renderCameras();
    } catch (error) {
      if (!alive) return;
      if (camerasLoaded) toast(`Could not refresh the cameras: ${errorText(error)}`, "error");
      else replace(cameraSection.body, loadFailed("the cameras", error, () => void loadCameras()));
    }
  }

  // ---- storage

  let storageLoaded = false;
  async function loadStorage(): Promise<void> {
    if (!storageLoaded) replace(storage.body, loading());
    try {
      const data = await api.get<StorageData>("/api/v1/analytics/storage");
      if (!alive) return;
      storageLoaded = true;
      replace(storage.body, storageUse(data));
    } catch (error) {
      if (!alive) return;
      if (storageLoaded) toast(`Could not refresh storage use: ${errorText(error)}`, "error");
      else replace(storage.body, loadFailed("storage use", error, () => void loadStorage()));
    }
  }

  // ---- live updates

  function onServerEvent(event: ServerEvent): void {
    const payload = event.payload;
    switch (event.type) {
      case "NewSighting":
        if (payload.sighting) void addSighting(payload.sighting as Sighting);
        refreshSoon();  // most seen, and the counts of a profile just created
        break;
      case "ProfileSighted":
        if (payload.profile) remember(payload.profile as unknown as ProfileSummary);
        break;
      case "ProfileCreated":
      case "ProfileUpdated": {
        const p = payload.profile as ProfileSummary | undefined;
        if (p) {
          remember(p);
          if (recent.some((s) => s.profile_id === p.id)) void renderRecent();
        }
        refreshSoon();
        break;
      }
      case "ProfileDeleted": {
        const id = String(payload.profile_id ?? "");
        profiles.delete(id);
        // Its sightings are deleted with it.
        if (recent.some((s) => s.profile_id === id)) {
          recent = recent.filter((s) => s.profile_id !== id);
          void renderRecent();
        }
        refreshSoon();
        break;
      }
      case "ProfilesMerged": {
        const into = String(payload.into ?? "");
        const sources = (payload.source_ids as string[] | undefined) ?? [];
        if (recent.some((s) => sources.includes(s.profile_id))) {
          recent = recent.map((s) => (sources.includes(s.profile_id) ? { ...s, profile_id: into } : s));
          void renderRecent();
        }
        refreshSoon();
        break;
      }
      case "CameraStatusChanged": {
        const camera = cameras.get(String(payload.camera_id ?? ""));
        if (!camera) {
          void loadCameras();
          break;
        }
        camera.status = payload.status as Camera["status"];
        camera.status_message = String(payload.message ?? "");
        renderCameras();
        break;
      }
      case "StorageWarning": {
        replace(warning, storageWarning(payload));
        warning.hidden = false;
        void loadStorage();
        break;
      }
    }
  }

  const unsubscribe = onEvent(onServerEvent);

  // Events missed while the connection was down: load everything again.
  let wasConnected = false;
  let lost = false;
  const unwatch = onConnection((connected) => {
    if (connected && lost) {
      void loadDashboard();
      void loadRecent();
      void loadCameras();
      void loadStorage();
    }
    if (connected) wasConnected = true;
    lost = !connected && wasConnected;
  });

  // "2 min ago" stays true while the page is open.
  const clock = window.setInterval(() => {
    for (const time of root.querySelectorAll<HTMLTimeElement>("time[data-relative]")) time.textContent = formatRelative(time.dateTime);
    if (dashboard) chart.tick();
  }, 30_000);

  void loadDashboard();
  void loadRecent();
  // Recent sightings name their cameras: draw them again once the names are known.
  void loadCameras().then(() => {
    if (alive && recentLoaded) void renderRecent();
  });
  void loadStorage();

  return () => {
    alive = false;
    unsubscribe();
    unwatch();
    window.clearTimeout(refreshTimer);
    window.clearInterval(clock);
  };
}
