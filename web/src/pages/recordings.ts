// /recordings and /recordings/:id: the video segments the cameras recorded
// while faces were in view, filtered by camera and time (in the URL), and a
// player for the chosen one with the faces seen in it (a click seeks to
// that moment) and ?t=SECONDS to start at a given second.
import { ApiError, api, errorText, withToken, type Page, type Recording, type SightingDetail } from "../api.js";
import { formatBytes, formatDuration, formatTime, h, profileName, replace } from "../dom.js";
import { setPath, setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";
import { toast } from "../toast.js";
import { cameraOptions, loadCameraNames, type CameraNames } from "../components/camera-names.js";
import { classificationPill } from "../components/classification.js";
import { faceThumb } from "../components/face-thumb.js";
import { pageParam, pagerSlot } from "../components/pager.js";
import { mapLimit } from "../components/parallel.js";
import { recordingVideo, stopVideo } from "../components/sighting-dialog.js";
import { rangeFields, validIso } from "../components/time-range.js";

const PER_PAGE = 25;
const MAX_CHIPS = 60;
const POLL_MS = 5000;

interface Filters {
  camera: string;
  from: string | null;
  to: string | null;
  page: number;
}

// 83.4 -> "1:23"
function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

function fileName(recording: Recording, camera: string): string {
  const stamp = recording.start.replace(/[:]/g, "-").replace(/\.\d+Z$/, "Z");
  return `safelynx-${camera.replace(/[^\w-]+/g, "_")}-${stamp}.mp4`;
}

// Length, size and the download of a recording (once it is finished).
function recordingFacts(recording: Recording, camera: string): HTMLElement {
  const url = recording.video_url ?? `/api/v1/recordings/${recording.id}/video`;
  return h(
    "p",
    { class: "recording-facts muted" },
    h("span", {}, recording.end ? formatDuration(recording.duration_s) : "Still recording"),
    h("span", {}, formatBytes(recording.size_bytes)),
    recording.end ? h("a", { href: withToken(url), download: fileName(recording, camera), class: "button button-small", "data-testid": "recording-download" }, "Download") : null,
  );
}

// Who was seen in a recording, each a button that plays from that moment (`seek`).
function sightingChips(recording: Recording, details: SightingDetail[], more: number, seek: (seconds: number) => void): HTMLElement {
  if (details.length === 0) return h("p", { class: "muted" }, "No recognised faces are linked to this recording.");
  return h(
    "div",
    {},
    h(
      "ul",
      { class: "sighting-chips", "data-testid": "recording-sightings" },
      details.map((s) => {
        const name = s.profile ? profileName(s.profile) : "Deleted profile";
        const at = s.recording_offset_s ?? Math.max(0, (new Date(s.time).getTime() - new Date(recording.start).getTime()) / 1000);
        const chip = h(
          "button",
          { type: "button", class: "sighting-chip", "data-testid": "sighting-chip" },
          faceThumb(s.snapshot_url, s.profile?.name ?? "?", "small"),
          h("span", { class: "sighting-chip-text" }, h("span", { class: "sighting-chip-name" }, name), h("span", { class: "muted" }, clock(at))),
          s.profile ? classificationPill(s.profile.classification) : null,
          // The name is the visible text (WCAG 2.5.3, label in name) and then what the button does.
          h("span", { class: "visually-hidden" }, "Play from here"),
        );
        chip.addEventListener("click", () => seek(at));
        return h("li", {}, chip);
      }),
    ),
    more > 0 ? h("p", { class: "muted" }, `And ${more} more sightings.`) : null,
  );
}

// `count`: the recording's sightings as shown ("…" while unknown); `select`
// plays it here, from a plain click on its link or anywhere on the row.
function recordingRow(recording: Recording, camera: string, href: string, count: string, select: () => void): HTMLElement {
  const link = h("a", { href, class: "recording-link" }, formatTime(recording.start));
  link.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault(); // played here, without reloading the list
    select();
  });
  const tr = h(
    "tr",
    { "data-testid": "recording-row", "data-recording-id": recording.id },
    h("td", {}, link),
    h("td", {}, camera),
    h("td", {}, recording.end ? formatDuration(recording.duration_s) : h("span", { class: "recording-live" }, formatDuration(null))),
    h("td", { class: "num col-size" }, formatBytes(recording.size_bytes)),
    h("td", { class: "num", "data-testid": "recording-sighting-count" }, count),
  );
  // A click anywhere on the row plays it (the link stays the keyboard's way).
  tr.addEventListener("click", (event) => {
    if ((event.target as Element).closest("a, button")) return;
    select();
  });
  return tr;
}

function recordingsTable(rows: HTMLElement[]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "recordings-table" },
      h("caption", { class: "visually-hidden" }, "Recordings, newest first"),
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, "Start"), h("th", { scope: "col" }, "Camera"), h("th", { scope: "col" }, "Length"), h("th", { scope: "col", class: "num col-size" }, "Size"), h("th", { scope: "col", class: "num" }, "Sightings")),
      ),
      h("tbody", {}, rows),
    ),
  );
}

export function recordingsPage({ root, params, query }: PageContext): Cleanup {
  const filters: Filters = {
    camera: query.get("camera") ?? "",
    from: validIso(query.get("from")),
    to: validIso(query.get("to")),
    page: pageParam(query.get("page")),
  };
  const startAt = Number(query.get("t"));
  let selectedId: string | null = params.id ?? null;
  let active = true;
  let loadNumber = 0;
  let cameras: CameraNames | null = null;
  let video: HTMLVideoElement | null = null;
  let pollTimer: number | undefined;
  let listTimer: number | undefined;
  let playerNumber = 0;
  const sightingCounts = new Map<string, number>();

  const filterQuery = (): URLSearchParams => {
    const q = new URLSearchParams();
    if (filters.camera) q.set("camera", filters.camera);
    if (filters.from) q.set("from", filters.from);
    if (filters.to) q.set("to", filters.to);
    if (filters.page > 1) q.set("page", String(filters.page));
    return q;
  };
  const withQuery = (path: string, q: URLSearchParams) => path + (q.toString() ? "?" + q.toString() : "");
  const listPath = () => withQuery("/recordings", filterQuery());
  const recordingPath = (id: string) => withQuery(`/recordings/${id}`, filterQuery());

  const count = h("span", { class: "muted", "data-testid": "recordings-total" });
  const refresh = h("button", { type: "button", class: "button" }, "Refresh");
  const cameraSelect = h("select", { id: "recordings-camera" }, h("option", { value: "" }, "All cameras"));
  const range = rangeFields("recordings", { from: filters.from, to: filters.to }, (r) => {
    filters.from = r.from;
    filters.to = r.to;
    changed();
  });
  const player = h("section", { class: "card recording-player-card", "aria-labelledby": "player-title", "data-testid": "recording-panel", hidden: true });
  const list = h("div", { class: "recordings-list" });
  const pages = pagerSlot("Recordings", (n) => {
    filters.page = n;
    setPath(selectedId ? recordingPath(selectedId) : listPath());
    void loadList();
  });

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Recordings ", count), refresh),
    player,
    h(
      "form",
      { class: "toolbar filters", role: "search", "aria-label": "Filter recordings", onsubmit: (e: Event) => e.preventDefault() },
      h("div", { class: "filter" }, h("label", { for: cameraSelect.id }, "Camera"), cameraSelect),
      range.element,
    ),
    list,
    pages.element,
  );

  function changed(): void {
    filters.page = 1;
    setQuery(filterQuery());
    void loadList();
  }
  cameraSelect.addEventListener("change", () => {
    filters.camera = cameraSelect.value;
    changed();
  });
  refresh.addEventListener("click", () => void loadList());

  function cameraName(id: string): string {
    return cameras?.name(id) ?? id.slice(0, 8);
  }

  // ---- Player

  function closePlayer(): void {
    playerNumber++;
    window.clearTimeout(pollTimer);
    if (video) stopVideo(video);
    video = null;
    selectedId = null;
    player.hidden = true;
    replace(player);
    markSelected();
  }

  function seek(seconds: number): void {
    if (!video) return;
    video.currentTime = seconds;
    void video.play().catch(() => undefined);
  }

  async function showPlayer(id: string, seekTo: number | null): Promise<void> {
    const number = ++playerNumber;
    window.clearTimeout(pollTimer);
    if (video) stopVideo(video);
    video = null;
    selectedId = id;
    markSelected();
    player.hidden = false;
    replace(player, loading("Loading the recording…"));
    let recording: Recording;
    try {
      recording = await api.get<Recording>(`/api/v1/recordings/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!active || number !== playerNumber) return;
      const gone = error instanceof ApiError && error.status === 404;
      replace(
        player,
        gone
          ? empty("This recording does not exist any more: it may have been removed by the storage clean-up.", h("a", { href: listPath(), class: "button" }, "All recordings"))
          : failed(error, () => void showPlayer(id, seekTo)),
      );
      return;
    }
    if (!active || number !== playerNumber) return;
    const camera = cameraName(recording.camera_id);
    sightingCounts.set(recording.id, recording.sighting_ids?.length ?? 0);
    const close = h("button", { type: "button", class: "button button-quiet", "aria-label": "Close the player" }, "×");
    close.addEventListener("click", () => {
      setPath(listPath(), true);
      closePlayer();
    });
    const videoHost = h("div", { class: "recording-video" });
    const people = h("div", {}, loading("Loading who was seen…"));
    replace(
      player,
      h("div", { class: "dialog-header" }, h("h2", { id: "player-title", tabindex: "-1" }, `${camera} · ${formatTime(recording.start)}`), close),
      recordingFacts(recording, camera),
      h("div", { class: "recording-body" }, videoHost, h("div", { class: "recording-side" }, h("h3", {}, "Seen in this recording"), people)),
    );

    if (!recording.end) {
      replace(videoHost, h("p", { class: "notice", "data-testid": "recording-in-progress" }, "This recording is still being written. It can be played when the camera finishes it; this panel updates by itself."));
      // Asks quietly until the camera finishes it, then shows the player (and the list's new length).
      const poll = () => {
        pollTimer = window.setTimeout(async () => {
          if (!active || number !== playerNumber) return;
          try {
            const now = await api.get<Recording>(`/api/v1/recordings/${encodeURIComponent(id)}`);
            if (!active || number !== playerNumber) return;
            if (!now.end) return poll();
          } catch {
            // Gone or unreachable: showPlayer says which.
          }
          if (!active || number !== playerNumber) return;
          void showPlayer(id, seekTo);
          void loadList(true);
        }, POLL_MS);
      };
      poll();
    } else {
      const v = recordingVideo(recording, seekTo, "recording-player");
      v.addEventListener("error", () => {
        if (v.getAttribute("src")) replace(videoHost, h("p", { class: "state state-error", role: "alert" }, "The video could not be played: its file may be missing or damaged."));
      });
      video = v;
      replace(videoHost, v);
    }

    const ids = recording.sighting_ids ?? [];
    const shown = ids.slice(0, MAX_CHIPS);
    try {
      const details = await mapLimit(shown, 4, (sid) => api.get<SightingDetail>(`/api/v1/sightings/${sid}`).catch(() => null));
      if (!active || number !== playerNumber) return;
      replace(people, sightingChips(recording, details.filter((d): d is SightingDetail => d !== null), ids.length - shown.length, seek));
    } catch (error) {
      if (!active || number !== playerNumber) return;
      replace(people, h("p", { class: "state-error" }, `Who was seen could not be loaded: ${errorText(error)}`));
    }
  }

  // ---- List

  function markSelected(): void {
    for (const row of list.querySelectorAll<HTMLElement>("[data-recording-id]")) {
      const on = row.dataset.recordingId === selectedId;
      row.classList.toggle("is-selected", on);
      const link = row.querySelector("a");
      if (on) link?.setAttribute("aria-current", "true");
      else link?.removeAttribute("aria-current");
    }
  }

  function select(id: string): void {
    setPath(recordingPath(id), true);
    void showPlayer(id, null).then(() => {
      if (!active) return;
      player.scrollIntoView({ block: "start", behavior: "smooth" });
      player.querySelector<HTMLElement>("#player-title")?.focus({ preventScroll: true });
    });
  }

  function row(recording: Recording): HTMLElement {
    const count = sightingCounts.has(recording.id) ? String(sightingCounts.get(recording.id)) : "…";
    return recordingRow(recording, cameraName(recording.camera_id), recordingPath(recording.id), count, () => select(recording.id));
  }

  // The list carries each recording's sighting count, taken before its rows
  // are drawn (taken after, the rows kept "…" until the next load: Refresh).
  // A recording still being written gains sightings, so its count from an
  // older answer is not kept.
  function takeCounts(items: Recording[]): void {
    for (const r of items) {
      if (typeof r.sighting_count === "number") sightingCounts.set(r.id, r.sighting_count);
      else if (!r.end) sightingCounts.delete(r.id);
    }
  }

  // A server whose list lacks the counts is asked per recording (a few at a time).
  async function fillCounts(items: Recording[], number: number): Promise<void> {
    const missing = items.filter((r) => !sightingCounts.has(r.id));
    await mapLimit(missing, 3, async (r) => {
      if (!active || number !== loadNumber) return;
      try {
        const detail = await api.get<Recording>(`/api/v1/recordings/${r.id}`);
        sightingCounts.set(r.id, detail.sighting_ids?.length ?? 0);
      } catch {
        // Left as "–" below.
      }
      const cell = list.querySelector(`[data-recording-id="${CSS.escape(r.id)}"] [data-testid=recording-sighting-count]`);
      if (cell) cell.textContent = sightingCounts.has(r.id) ? String(sightingCounts.get(r.id)) : "–";
    });
  }

  async function loadList(quiet = false): Promise<void> {
    const number = ++loadNumber;
    window.clearTimeout(listTimer);
    list.setAttribute("aria-busy", "true");
    if (!list.querySelector("table")) replace(list, loading("Loading recordings…"));
    else if (!quiet) list.classList.add("is-loading");
    try {
      const page = await api.get<Page<Recording>>("/api/v1/recordings", {
        camera_id: filters.camera,
        from: filters.from,
        to: filters.to,
        page: filters.page,
        per_page: PER_PAGE,
      });
      if (!active || number !== loadNumber) return;
      count.textContent = `(${page.total})`;
      if (page.items.length === 0) {
        const filtered = filters.camera || filters.from || filters.to;
        replace(list, empty(filtered ? "No recordings match these filters." : "No recordings yet. Cameras record while they see faces."));
      } else {
        takeCounts(page.items);
        replace(list, recordingsTable(page.items.map(row)));
        markSelected();
        void fillCounts(page.items, number);
        // Recordings still being written get their length once finished.
        if (page.items.some((r) => !r.end)) listTimer = window.setTimeout(() => void loadList(true), 10_000);
      }
      pages.show(filters.page, PER_PAGE, page.total);
    } catch (error) {
      if (!active || number !== loadNumber) return;
      if (quiet && list.querySelector("table")) {
        toast(`The recordings could not be refreshed: ${errorText(error)}`, "error");
        return;
      }
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

  async function start(): Promise<void> {
    replace(list, loading("Loading recordings…"));
    cameras = await loadCameraNames();
    if (!active) return;
    cameraSelect.append(...cameraOptions(cameras, filters.camera));
    if (selectedId) void showPlayer(selectedId, Number.isFinite(startAt) && startAt > 0 ? startAt : null);
    await loadList();
  }
  void start();

  return () => {
    active = false;
    playerNumber++;
    window.clearTimeout(pollTimer);
    window.clearTimeout(listTimer);
    if (video) stopVideo(video);
  };
}
