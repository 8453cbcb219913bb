// "Use this browser's camera": this device's camera becomes a Safelynx
// camera of kind "browser". The camera is created on first use (its id is
// remembered in this browser), started, and fed JPEG frames over the
// WebSocket /api/v1/cameras/{id}/browser at about 10 frames per second,
// never more than one frame in flight.
import { ApiError, api, errorText, withToken, type Camera } from "../api.js";
import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { openModal } from "./modal-dialog.js";

const STORAGE_KEY = "safelynx.browserCamera";
const FRAME_INTERVAL_MS = 100; // 10 fps
const JPEG_QUALITY = 0.8;

export interface BrowserCameraPanel {
  element: HTMLElement;
  // The camera this browser sends, while it does.
  cameraId(): string | null;
  // A CameraStatusChanged event: a stop from elsewhere ends the sending here.
  statusChanged(cameraId: string, status: string): void;
  // Page cleanup: stops everything at once.
  stop(): void;
}

type State = "idle" | "starting" | "sending" | "stopping";

function cameraError(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera permission was denied. Allow camera access for this site in the browser's address bar or settings, then try again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this device.";
    case "NotReadableError":
    case "AbortError":
      return "The camera could not be opened: another application may be using it.";
    default:
      return `The camera could not be opened: ${errorText(error)}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

// Asks for the new camera's name and location; null when cancelled.
function askName(container: Element): Promise<{ name: string; location: string } | null> {
  return new Promise((resolve) => {
    let result: { name: string; location: string } | null = null;
    const name = h("input", { id: "browser-camera-name", required: true, maxlength: 200, value: "This browser", autocomplete: "off" });
    const place = h("input", { id: "browser-camera-location", maxlength: 200, placeholder: "e.g. front door", autocomplete: "off" });
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: "browser-camera-dialog-title" }, "Name this camera"),
      h("p", { class: "muted" }, "Safelynx adds this browser as a camera. The name appears on the live view, in sightings and in recordings."),
      h("label", { for: "browser-camera-name" }, "Name"),
      name,
      h("label", { for: "browser-camera-location" }, "Location (optional)"),
      place,
      h("div", { class: "dialog-actions" }, cancel, h("button", { type: "submit", class: "button button-primary", "data-testid": "browser-camera-create" }, "Add and start")),
    );
    const dialog = h("dialog", { "aria-labelledby": "browser-camera-dialog-title" }, form);
    const modal = openModal(dialog, container, () => resolve(result));
    cancel.addEventListener("click", () => modal.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = name.value.trim();
      if (!value) {
        name.focus();
        return;
      }
      result = { name: value, location: place.value.trim() };
      modal.close();
    });
    name.select();
  });
}

export function browserCameraPanel(dialogContainer: Element): BrowserCameraPanel {
  let state: State = "idle";
  let generation = 0; // bumps on every stop: async steps of an older start give up
  let camera: Camera | null = null;
  let stream: MediaStream | null = null;
  let socket: WebSocket | null = null;
  let ticker: number | undefined;
  let frames = 0;
  let recentFrames: number[] = [];

  const video = h("video", { class: "live-browser-preview", muted: true, playsinline: true, autoplay: true, "aria-label": "Preview of this browser's camera", hidden: true });
  video.muted = true;
  const canvas = document.createElement("canvas");
  const status = h("p", { class: "live-browser-status", role: "status", "data-testid": "browser-camera-status" }, "Not sending.");
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "browser-camera-error" });
  const start = h("button", { type: "button", class: "button button-primary", "data-testid": "browser-camera-start" }, "Use this browser's camera");
  const stopButton = h("button", { type: "button", class: "button button-danger", "data-testid": "browser-camera-stop", hidden: true }, "Stop");

  const element = h(
    "section",
    { class: "card live-browser", "aria-labelledby": "live-browser-title", "data-testid": "browser-camera", "data-needs": "operator" },
    h(
      "div",
      { class: "live-browser-text" },
      h("h2", { id: "live-browser-title" }, "This browser's camera"),
      h("p", { class: "muted" }, "Turn this device (a spare phone, a laptop at the door) into a Safelynx camera. Keep this page open while it sends."),
      status,
      error,
      h("div", { class: "live-browser-actions" }, start, stopButton),
    ),
    video,
  );

  function setState(next: State, text?: string): void {
    state = next;
    start.hidden = next === "sending" || next === "stopping";
    start.disabled = next === "starting";
    start.textContent = next === "starting" ? "Starting…" : "Use this browser's camera";
    stopButton.hidden = !(next === "sending" || next === "stopping" || next === "starting");
    stopButton.disabled = next === "stopping";
    video.hidden = next === "idle";
    if (text !== undefined) status.textContent = text;
  }

  function showStatus(): void {
    const now = performance.now();
    recentFrames = recentFrames.filter((t) => now - t < 2000);
    const fps = recentFrames.length / 2;
    status.textContent = `Sending to “${camera?.name ?? "camera"}”: ${fps.toFixed(1)} frames/s, ${frames} sent.`;
  }

  // Stops everything local at once; `notifyServer` also stops the camera there.
  function teardown(notifyServer: boolean): void {
    generation++;
    window.clearInterval(ticker);
    ticker = undefined;
    const ws = socket;
    socket = null;
    if (ws) {
      ws.onopen = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, "stopped");
    }
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    const stopped = camera;
    if (notifyServer && stopped) {
      void api.post(`/api/v1/cameras/${stopped.id}/stream/stop`).catch(() => {
        // Gone or unreachable: the server marks it in error after 10 s without frames.
      });
    }
  }

  // The camera remembered in this browser, if it still exists.
  async function findCamera(): Promise<Camera | null> {
    const remembered = localStorage.getItem(STORAGE_KEY);
    if (remembered) {
      try {
        const found = await api.get<Camera>(`/api/v1/cameras/${remembered}`);
        if (found.kind === "browser") return found;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
      localStorage.removeItem(STORAGE_KEY);
    }
    return null;
  }

  async function begin(): Promise<void> {
    if (state !== "idle") return;
    error.textContent = "";
    if (!navigator.mediaDevices?.getUserMedia) {
      error.textContent = window.isSecureContext
        ? "This browser cannot capture video."
        : "Browsers allow the camera only on HTTPS pages or on localhost. Open Safelynx over HTTPS (server.tls_certificate) to use this device's camera.";
      return;
    }
    const my = ++generation;
    camera = null;
    setState("starting", "Preparing the camera…");
    try {
      // The camera first: without one (or without permission) nothing is created on the server.
      status.textContent = "Waiting for camera permission…";
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      } catch (e) {
        if (my !== generation) return;
        throw new Error(cameraError(e));
      }
      if (my !== generation) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      video.srcObject = stream;
      void video.play().catch(() => {});
      status.textContent = "Preparing the camera…";
      let existing = await findCamera();
      if (my !== generation) return;
      if (!existing) {
        const wanted = await askName(dialogContainer);
        if (my !== generation) return;
        if (!wanted) {
          teardown(false);
          setState("idle", "Not sending.");
          return;
        }
        status.textContent = "Adding the camera…";
        existing = await api.post<Camera>("/api/v1/cameras", { name: wanted.name, kind: "browser", location: wanted.location });
        localStorage.setItem(STORAGE_KEY, existing.id);
      }
      camera = existing;
      if (my !== generation || !camera) return;
      status.textContent = "Starting the camera…";
      camera = await api.post<Camera>(`/api/v1/cameras/${camera.id}/stream/start`);
      if (my !== generation) return;
      openSocket(my, camera);
    } catch (e) {
      if (my !== generation) return;
      teardown(camera !== null);
      error.textContent = e instanceof ApiError ? `Could not start the camera: ${errorText(e)}` : errorText(e);
      setState("idle", "Not sending.");
    }
  }

  function openSocket(my: number, cam: Camera): void {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(withToken(`${scheme}//${location.host}/api/v1/cameras/${cam.id}/browser`));
    ws.binaryType = "arraybuffer";
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      if (my !== generation) return;
      opened = true;
      frames = 0;
      recentFrames = [];
      setState("sending");
      showStatus();
      ticker = window.setInterval(showStatus, 1000);
      void pump(my, ws);
    };
    ws.onclose = (event) => {
      if (my !== generation) return;
      const reason = event.reason ? `: ${event.reason}` : "";
      const message = opened
        ? `The server closed the video connection${reason || ` (code ${event.code})`}. Sending stopped.`
        : `The server refused the video connection${reason || " (the camera may have been deleted or stopped)"}.`;
      teardown(true);
      error.textContent = message;
      setState("idle", "Not sending.");
    };
  }

  async function pump(my: number, ws: WebSocket): Promise<void> {
    const context = canvas.getContext("2d");
    if (!context) {
      error.textContent = "This browser cannot encode frames (no canvas).";
      stop();
      return;
    }
    while (my === generation && ws.readyState === WebSocket.OPEN) {
      const began = performance.now();
      // One frame in flight at most: wait until the last one has left.
      if (ws.bufferedAmount > 0) {
        await sleep(20);
        continue;
      }
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
        }
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
        if (!blob) continue;
        // An ArrayBuffer counts in bufferedAmount at once (a Blob only once read).
        const bytes = await blob.arrayBuffer();
        if (my !== generation || ws.readyState !== WebSocket.OPEN) return;
        ws.send(bytes);
        frames++;
        recentFrames.push(performance.now());
      }
      await sleep(Math.max(0, FRAME_INTERVAL_MS - (performance.now() - began)));
    }
  }

  async function userStop(): Promise<void> {
    if (state === "idle" || state === "stopping") return;
    const cam = camera;
    setState("stopping", "Stopping…");
    teardown(false);
    if (cam) {
      try {
        await api.post(`/api/v1/cameras/${cam.id}/stream/stop`);
      } catch (e) {
        toast(`Could not stop “${cam.name}” on the server: ${errorText(e)}`, "error");
      }
    }
    setState("idle", "Not sending.");
    start.focus();
  }

  function stop(): void {
    if (state === "idle") return;
    teardown(true);
    setState("idle", "Not sending.");
  }

  start.addEventListener("click", () => void begin());
  stopButton.addEventListener("click", () => void userStop());
  setState("idle");

  return {
    element,
    cameraId: () => (state === "idle" ? null : camera?.id ?? null),
    statusChanged(cameraId, next) {
      if (state !== "sending" || camera?.id !== cameraId || next !== "stopped") return;
      teardown(false);
      replace(error, "The camera was stopped from another page or device. Sending stopped.");
      setState("idle", "Not sending.");
    },
    stop,
  };
}
