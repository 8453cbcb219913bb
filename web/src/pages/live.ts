// Live view: every camera as a tile, streaming ones as MJPEG with the face
// boxes drawn by the server, the others with the reason they are not; and
// this browser's own camera as a source.
import { errorText, withToken, type Camera } from "../api.js";
import { browserCameraPanel } from "../components/browser-camera.js";
import { cameraStatusBadge, listAllCameras } from "../components/camera-info.js";
import { loadFailed } from "../components/load-error.js";
import { h, replace } from "../dom.js";
import { onConnection, onEvent } from "../events.js";
import type { Cleanup, PageContext } from "../router.js";
import { empty, loading } from "../states.js";
import { toast } from "../toast.js";

// Browsers open at most 6 HTTP/1.1 connections per server, and an MJPEG
// stream holds one for as long as it plays: past this many live tiles, the
// others show a snapshot refreshed every few seconds, so API calls still go through.
const MAX_STREAMS = 4;
const SNAPSHOT_REFRESH_MS = 2000;
const RETRY_MS = 3000;

interface Tile {
  camera: Camera;
  element: HTMLElement;
  media: HTMLElement;
  caption: HTMLElement;
  img: HTMLImageElement | null;
  timer: number | undefined;
  mode: "stream" | "snapshot" | "off";
}

function placeholderText(camera: Camera): { title: string; detail: string } {
  switch (camera.status) {
    case "connecting":
      return { title: "Connecting…", detail: camera.kind === "browser" ? "Waiting for the browser to send frames." : "Waiting for the first frame." };
    case "error":
      return { title: "Not streaming", detail: camera.status_message || "The camera reported an error." };
    case "stopped":
      return { title: "Stopped", detail: camera.status_message === "end of video" ? "The video file played to its end." : "Start it on the Cameras page." };
    default:
      return { title: "Waiting for video…", detail: "" };
  }
}

export function livePage({ root }: PageContext): Cleanup {
  let alive = true;
  let hidden = document.hidden;
  const tiles = new Map<string, Tile>();
  const grid = h("div", { class: "live-grid", "data-testid": "live-grid" });
  const gridArea = h("div", { class: "live-area" }, loading("Loading cameras…"));
  const browser = browserCameraPanel(root);

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Live"), h("a", { href: "/cameras", class: "button" }, "Manage cameras")),
    gridArea,
    browser.element,
  );

  function stopMedia(tile: Tile): void {
    window.clearTimeout(tile.timer);
    tile.timer = undefined;
    if (tile.img) {
      tile.img.onload = tile.img.onerror = null;
      tile.img.src = ""; // closes the MJPEG connection
      tile.img.removeAttribute("src");
      tile.img = null;
    }
    tile.mode = "off";
  }

  function showPlaceholder(tile: Tile, title: string, detail: string): void {
    stopMedia(tile);
    replace(
      tile.media,
      h(
        "div",
        { class: `live-placeholder live-placeholder-${tile.camera.status}`, "data-testid": "live-placeholder" },
        h("strong", {}, title),
        detail ? h("span", {}, detail) : null,
        tile.camera.status === "stopped" ? h("a", { href: "/cameras" }, "Cameras") : null,
      ),
    );
  }

  function showVideo(tile: Tile, mode: "stream" | "snapshot"): void {
    if (tile.img && tile.mode === mode) return;
    stopMedia(tile);
    const camera = tile.camera;
    const img = h("img", { class: "live-video", alt: `Live view of ${camera.name}`, "data-testid": "live-video" });
    tile.img = img;
    tile.mode = mode;
    if (mode === "stream") {
      img.onerror = () => {
        if (tile.img !== img) return;
        // The stream ended or was refused: try again while the camera says it is active.
        showPlaceholder(tile, "Stream interrupted", "Reconnecting…");
        tile.timer = window.setTimeout(() => update(tile, tile.camera), RETRY_MS);
      };
      img.src = withToken(`/api/v1/cameras/${camera.id}/live.mjpeg?overlay=true&fps=10`);
    } else {
      const next = () => {
        if (tile.img !== img) return;
        tile.timer = window.setTimeout(() => {
          if (tile.img === img) img.src = withToken(`/api/v1/cameras/${camera.id}/snapshot.jpg?t=${Date.now()}`);
        }, SNAPSHOT_REFRESH_MS);
      };
      img.onload = next;
      img.onerror = next; // "no frame yet" and the like: keep trying
      img.src = withToken(`/api/v1/cameras/${camera.id}/snapshot.jpg?t=${Date.now()}`);
    }
    replace(tile.media, img);
  }

  function streamingSlots(): Set<string> {
    const active = [...tiles.values()].filter((t) => t.camera.status === "active").map((t) => t.camera.id);
    return new Set(active.slice(0, MAX_STREAMS));
  }

  function update(tile: Tile, camera: Camera): void {
    tile.camera = camera;
    replace(
      tile.caption,
      h("span", { class: "live-name" }, camera.name),
      camera.location ? h("span", { class: "live-location muted" }, camera.location) : null,
      cameraStatusBadge(camera.status),
    );
    tile.element.dataset.status = camera.status;
    if (camera.status === "active" && !hidden) {
      showVideo(tile, streamingSlots().has(camera.id) ? "stream" : "snapshot");
    } else if (camera.status === "active") {
      showPlaceholder(tile, "Paused", "The view resumes when this tab is visible again.");
    } else {
      const { title, detail } = placeholderText(camera);
      showPlaceholder(tile, title, detail);
    }
  }

  function makeTile(camera: Camera): Tile {
    const media = h("div", { class: "live-media" });
    const caption = h("figcaption", { class: "live-caption" });
    const element = h("figure", { class: "live-tile", "data-testid": "live-tile", "data-camera-id": camera.id }, media, caption);
    const tile: Tile = { camera, element, media, caption, img: null, timer: undefined, mode: "off" };
    return tile;
  }

  function refreshAll(): void {
    for (const tile of tiles.values()) update(tile, tile.camera);
  }

  function render(list: Camera[]): void {
    const seen = new Set(list.map((c) => c.id));
    for (const [id, tile] of tiles) {
      if (!seen.has(id)) {
        stopMedia(tile);
        tile.element.remove();
        tiles.delete(id);
      }
    }
    for (const camera of list) {
      let tile = tiles.get(camera.id);
      if (!tile) {
        tile = makeTile(camera);
        tiles.set(camera.id, tile);
      }
      tile.camera = camera;
    }
    replace(grid, list.map((c) => tiles.get(c.id)!.element));
    refreshAll();
    if (list.length === 0) {
      replace(
        gridArea,
        empty("No cameras yet. Add an IP camera, a USB camera or a video file, or use this browser's camera below.", h("a", { href: "/cameras", class: "button button-primary" }, "Add a camera")),
      );
    } else if (!grid.isConnected) {
      replace(gridArea, grid);
    }
  }

  let loaded = false;
  async function load(): Promise<void> {
    if (!loaded) replace(gridArea, loading("Loading cameras…"));
    try {
      const list = await listAllCameras();
      if (!alive) return;
      loaded = true;
      render(list);
    } catch (error) {
      if (!alive) return;
      if (loaded) toast(`Could not refresh the cameras: ${errorText(error)}`, "error");
      else replace(gridArea, loadFailed("the cameras", error, () => void load()));
    }
  }

  const unsubscribe = onEvent((event) => {
    if (event.type !== "CameraStatusChanged") return;
    const id = String(event.payload.camera_id ?? "");
    const status = String(event.payload.status ?? "") as Camera["status"];
    browser.statusChanged(id, status);
    const tile = tiles.get(id);
    if (!tile) {
      void load(); // a camera added elsewhere
      return;
    }
    const wasActive = tile.camera.status === "active";
    update(tile, { ...tile.camera, status, status_message: String(event.payload.message ?? "") });
    // A stream slot may have opened up or been taken: recheck the others.
    if (wasActive !== (status === "active")) refreshAll();
  });

  let wasConnected = false;
  let lost = false;
  const unwatch = onConnection((connected) => {
    if (connected && lost) void load();
    if (connected) wasConnected = true;
    lost = !connected && wasConnected;
  });

  // No video for a tab nobody looks at.
  const onVisibility = () => {
    hidden = document.hidden;
    refreshAll();
  };
  document.addEventListener("visibilitychange", onVisibility);

  void load();

  return () => {
    alive = false;
    unsubscribe();
    unwatch();
    document.removeEventListener("visibilitychange", onVisibility);
    for (const tile of tiles.values()) stopMedia(tile);
    browser.stop();
  };
}
