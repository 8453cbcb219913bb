// Cameras: the list with live status (polled every 3 s and pushed by
// CameraStatusChanged), start/stop, and add/edit/delete in dialogs.
import { ApiError, api, errorText, type Camera } from "../api.js";
import { cameraKindLabels, cameraKinds, cameraStatusBadge, listAllCameras, maskSource } from "../components/camera-info.js";
import { confirmDialog } from "../components/confirm-dialog.js";
import { loadFailed } from "../components/load-error.js";
import { openModal } from "../components/modal-dialog.js";
import { formatRelative, formatTime, h, replace } from "../dom.js";
import { onEvent } from "../events.js";
import type { Cleanup, PageContext } from "../router.js";
import { empty, loading } from "../states.js";
import { toast } from "../toast.js";

const POLL_MS = 3000;

const sourceHelp: Record<Camera["kind"], { placeholder: string; hint: string }> = {
  file: { placeholder: "/srv/videos/front-door.mp4", hint: "Absolute path of a video file on the server, in a folder allowed by the cameras.file_roots setting (default: the data folder's videos). It plays once; useful to try Safelynx out." },
  rtsp: { placeholder: "rtsp://user:pass@192.168.1.20:554/stream", hint: "The camera's RTSP URL (see its manual or app). A saved password shows as *** and is kept while the user and host stay the same." },
  http: { placeholder: "http://192.168.1.21/video.mjpg", hint: "An MJPEG or HTTP video URL (http:// or https://)." },
  usb: { placeholder: "0", hint: "A camera attached to the server: device index (0 is the first) or a path such as /dev/video0." },
  browser: { placeholder: "", hint: "Frames come from a browser: open Live on that device and choose “Use this browser's camera”." },
};

const formFields = ["name", "kind", "source", "location"] as const;
type FormField = (typeof formFields)[number];

interface Row {
  camera: Camera;
  tr: HTMLTableRowElement;
  cells: { name: HTMLElement; kind: HTMLElement; source: HTMLElement; location: HTMLElement; status: HTMLElement; live: HTMLElement };
  toggle: HTMLButtonElement;
  busy: boolean;
}

// One element: on a phone the cell is a two-column grid (its label, then
// the value), where several children would be spread over both columns.
function liveText(camera: Camera): HTMLElement {
  const live = camera.live;
  if (!live) return h("span", { class: "muted" }, "—");
  const parts: Array<Node | string> = [h("span", {}, `${live.fps.toFixed(1)} fps · ${live.frames.toLocaleString()} frames`)];
  if (live.dropped > 0) parts.push(h("span", { class: "muted cam-live-extra" }, `${live.dropped.toLocaleString()} dropped`));
  if (live.reconnects > 0) parts.push(h("span", { class: "muted cam-live-extra" }, `${live.reconnects} reconnects`));
  if (live.recording) parts.push(h("span", { class: "cam-recording" }, "Recording"));
  if (live.last_frame_at)
    parts.push(h("span", { class: "muted cam-live-extra", title: formatTime(live.last_frame_at) }, `last frame ${formatRelative(live.last_frame_at)}`));
  return h("div", { class: "cam-live-parts" }, parts);
}

// The field a 422 message names ("source: an rtsp camera needs ..."), if it is one of the form's.
function fieldOf(message: string): FormField | null {
  const match = /^([a-z_]+)\b/.exec(message);
  const name = match?.[1];
  return name && (formFields as readonly string[]).includes(name) ? (name as FormField) : null;
}

interface RowActions {
  startStop: (row: Row) => void;
  edit: (camera: Camera) => void;
  remove: (row: Row) => void;
}

function makeRow(camera: Camera, actions: RowActions): Row {
  const cell = (label: string, extra: Record<string, string> = {}) => h("td", { "data-label": label, ...extra });
  const cells = {
    name: cell("Name", { class: "cam-name" }),
    kind: cell("Kind"),
    source: cell("Source", { class: "cam-source" }),
    location: cell("Location"),
    status: cell("Status", { "data-testid": "camera-status" }),
    live: cell("Live", { class: "cam-live" }),
  };
  const toggle = h("button", { type: "button", class: "button", "data-needs": "operator" });
  const edit = h("button", { type: "button", class: "button", "data-testid": "camera-edit", "data-needs": "operator" }, "Edit");
  const remove = h("button", { type: "button", class: "button button-quiet cam-delete", "data-testid": "camera-delete", "data-needs": "operator" }, "Delete");
  const tr = h(
    "tr",
    { "data-testid": "camera-row", "data-camera-id": camera.id },
    cells.name,
    cells.kind,
    cells.source,
    cells.location,
    cells.status,
    cells.live,
    h("td", { "data-label": "Actions", class: "cam-actions stack-table-actions" }, h("div", { class: "cam-buttons" }, toggle, edit, remove)),
  );
  const row: Row = { camera, tr, cells, toggle, busy: false };
  toggle.addEventListener("click", () => actions.startStop(row));
  edit.addEventListener("click", () => actions.edit(row.camera));
  remove.addEventListener("click", () => actions.remove(row));
  return row;
}

function updateRow(row: Row, camera: Camera): void {
  row.camera = camera;
  replace(row.cells.name, h("strong", {}, camera.name));
  replace(row.cells.kind, cameraKindLabels[camera.kind] ?? camera.kind);
  replace(row.cells.source, camera.kind === "browser" ? h("span", { class: "muted" }, "this browser's camera") : h("code", {}, maskSource(camera.source)));
  replace(row.cells.location, camera.location || h("span", { class: "muted" }, "—"));
  // The badge and the message in one element, as liveText: on a phone the
  // message was put under the cell's label, squeezed into its narrow column.
  replace(
    row.cells.status,
    h(
      "div",
      {},
      cameraStatusBadge(camera.status),
      camera.status_message ? h("span", { class: "cam-status-message" + (camera.status === "error" ? " cam-status-error" : ""), "data-testid": "camera-status-message" }, camera.status_message) : null,
    ),
  );
  replace(row.cells.live, liveText(camera));
  const running = camera.enabled && camera.status !== "stopped";
  row.toggle.textContent = row.busy ? (running ? "Stopping…" : "Starting…") : running ? "Stop" : "Start";
  row.toggle.dataset.testid = running ? "camera-stop" : "camera-start";
  row.toggle.setAttribute("aria-label", `${row.toggle.textContent} ${camera.name}`); // the visible word first (label in name)
  row.toggle.disabled = row.busy;
  row.tr.dataset.status = camera.status;
}

function cameraTable(tbody: HTMLElement): HTMLElement {
  return h(
    "div",
    { class: "table-wrap stack-table-wrap" },
    h(
      "table",
      { class: "cam-table stack-table" },
      h("caption", { class: "visually-hidden" }, "Cameras"),
      h(
        "thead",
        {},
        h("tr", {}, ["Name", "Kind", "Source", "Location", "Status", "Live", "Actions"].map((label) => h("th", { scope: "col" }, label))),
      ),
      tbody,
    ),
  );
}

// What the camera form asks and tells the page: whether the page is still
// shown, a camera saved (added or edited), a camera found deleted elsewhere.
interface FormEvents {
  alive: () => boolean;
  saved: (camera: Camera) => void;
  gone: () => void;
}

// The add (camera null) or edit dialog, over `root`.
function openCameraForm(root: HTMLElement, camera: Camera | null, events: FormEvents): void {
  const title = camera ? `Edit “${camera.name}”` : "Add a camera";
  const input = (id: string, attrs: Record<string, string | number | boolean>) =>
    h("input", { id, "aria-describedby": `${id}-error`, autocomplete: "off", ...attrs });
  const name = input("camera-name", { required: true, maxlength: 200, value: camera?.name ?? "" });
  const kind = h(
    "select",
    { id: "camera-kind", "aria-describedby": "camera-kind-error" },
    cameraKinds.map((k) => h("option", { value: k, selected: (camera?.kind ?? "rtsp") === k }, cameraKindLabels[k])),
  );
  const source = input("camera-source", { maxlength: 2048, value: camera?.kind === "browser" ? "" : camera?.source ?? "", spellcheck: "false" });
  source.setAttribute("aria-describedby", "camera-source-hint camera-source-error");
  const sourceHint = h("p", { id: "camera-source-hint", class: "muted cam-hint" });
  const location = input("camera-location", { maxlength: 200, value: camera?.location ?? "", placeholder: "e.g. porch, shop entrance" });
  const fieldError = (f: FormField) => h("p", { id: `camera-${f}-error`, class: "field-error", "data-testid": `camera-${f}-error` });
  const errors: Record<FormField, HTMLElement> = { name: fieldError("name"), kind: fieldError("kind"), source: fieldError("source"), location: fieldError("location") };
  const inputs: Record<FormField, HTMLInputElement | HTMLSelectElement> = { name, kind, source, location };
  const formError = h("p", { class: "form-error", role: "alert", "data-testid": "camera-form-error" });
  const sourceField = h("div", { class: "cam-source-field" }, h("label", { for: "camera-source" }, "Source"), source, sourceHint, errors.source);
  const save = h("button", { type: "submit", class: "button button-primary", "data-testid": "camera-save" }, camera ? "Save" : "Add camera");
  const cancel = h("button", { type: "button", class: "button", "data-testid": "camera-cancel" }, "Cancel");

  const browserHint = h("p", { class: "muted cam-hint", hidden: true });
  const syncKind = () => {
    const k = kind.value as Camera["kind"];
    const help = sourceHelp[k];
    source.placeholder = help.placeholder;
    sourceHint.textContent = help.hint;
    const browser = k === "browser";
    source.disabled = browser;
    source.required = !browser;
    sourceField.hidden = browser;
    // A browser camera's hint stays visible: it says where its frames come from.
    browserHint.textContent = browser ? help.hint : "";
    browserHint.hidden = !browser;
  };
  kind.addEventListener("change", syncKind);

  const form = h(
    "form",
    { novalidate: true, "data-testid": "camera-form" },
    h("h2", { id: "camera-dialog-title" }, title),
    h("label", { for: "camera-name" }, "Name"),
    name,
    errors.name,
    h("label", { for: "camera-kind" }, "Kind"),
    kind,
    errors.kind,
    browserHint,
    sourceField,
    h("label", { for: "camera-location" }, "Location (optional)"),
    location,
    errors.location,
    formError,
    h("div", { class: "dialog-actions" }, cancel, save),
  );
  const dialog = h("dialog", { "aria-labelledby": "camera-dialog-title", class: "cam-dialog", "data-testid": "camera-dialog" }, form);
  syncKind();

  const clearErrors = () => {
    for (const f of formFields) {
      errors[f].textContent = "";
      inputs[f].removeAttribute("aria-invalid");
    }
    formError.textContent = "";
  };
  const showError = (field: FormField | null, message: string) => {
    if (field && !(field === "source" && sourceField.hidden)) {
      errors[field].textContent = message;
      inputs[field].setAttribute("aria-invalid", "true");
      inputs[field].focus();
    } else {
      formError.textContent = message;
    }
  };

  const modal = openModal(dialog, root);
  cancel.addEventListener("click", () => modal.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const k = kind.value as Camera["kind"];
    if (!name.value.trim()) {
      showError("name", "Enter a name, for example “Front door”.");
      return;
    }
    if (k !== "browser" && !source.value.trim()) {
      showError("source", `Enter the source: ${sourceHelp[k].hint}`);
      return;
    }
    const body: Record<string, string> = { name: name.value.trim(), kind: k, location: location.value.trim() };
    if (k !== "browser") body.source = source.value.trim();
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      const saved = camera ? await api.put<Camera>(`/api/v1/cameras/${camera.id}`, body) : await api.post<Camera>("/api/v1/cameras", body);
      if (!events.alive()) return;
      events.saved(saved);
      modal.close();
      toast(camera ? `Camera “${saved.name}” saved.` : `Camera “${saved.name}” added. Start it to see it on the Live page.`, "success");
    } catch (error) {
      if (!events.alive()) return;
      if (error instanceof ApiError && error.status === 422) showError(fieldOf(error.message), error.message);
      else if (error instanceof ApiError && error.status === 404) {
        showError(null, "This camera no longer exists (deleted elsewhere).");
        events.gone();
      } else showError(null, `Could not save the camera: ${errorText(error)}`);
    } finally {
      save.disabled = false;
      save.textContent = camera ? "Save" : "Add camera";
    }
  });
}

export function camerasPage({ root }: PageContext): Cleanup {
  let alive = true;
  let loaded = false;
  let polling = false;
  const rows = new Map<string, Row>();
  const tbody = h("tbody", {});
  const table = cameraTable(tbody);
  const area = h("div", { class: "cam-area" }, loading("Loading cameras…"));
  const pollError = h("p", { class: "notice cam-poll-error", role: "status", hidden: true });
  const add = h("button", { type: "button", class: "button button-primary", "data-testid": "camera-add", "data-needs": "operator" }, "Add camera");
  add.addEventListener("click", () => openForm(null));

  replace(root, h("div", { class: "page-header" }, h("h1", {}, "Cameras"), add), pollError, area);

  // ---- rows

  const rowActions: RowActions = { startStop: (row) => void startStop(row), edit: (camera) => openForm(camera), remove: (row) => void removeCamera(row) };

  function upsert(camera: Camera): void {
    let row = rows.get(camera.id);
    if (!row) {
      row = makeRow(camera, rowActions);
      rows.set(camera.id, row);
      tbody.appendChild(row.tr);
    }
    updateRow(row, camera);
    showTableOrEmpty();
  }

  function showTableOrEmpty(): void {
    if (rows.size === 0) {
      replace(
        area,
        empty(
          "No cameras yet. Add an IP camera (RTSP or HTTP), a USB camera on the server, a video file, or use a browser's camera.",
          h("button", { type: "button", class: "button button-primary", "data-needs": "operator", onclick: () => openForm(null) }, "Add your first camera"),
        ),
      );
    } else if (!table.isConnected) {
      replace(area, table);
    }
  }

  function render(list: Camera[]): void {
    const seen = new Set(list.map((c) => c.id));
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
    for (const camera of list) upsert(camera);
    // Server order (oldest first). Rows move only when the order changed:
    // moving a row would take the focus from its buttons.
    const wanted = list.map((c) => rows.get(c.id)!.tr);
    if (wanted.some((tr, i) => tbody.children[i] !== tr)) for (const tr of wanted) tbody.appendChild(tr);
    showTableOrEmpty();
  }

  async function load(quiet = false): Promise<void> {
    if (!loaded && !quiet) replace(area, loading("Loading cameras…"));
    try {
      const list = await listAllCameras();
      if (!alive) return;
      loaded = true;
      pollError.hidden = true;
      render(list);
    } catch (error) {
      if (!alive) return;
      if (!loaded) replace(area, loadFailed("the cameras", error, () => void load()));
      else {
        pollError.textContent = `Live status is not updating: ${errorText(error)}`;
        pollError.hidden = false;
      }
    }
  }

  // ---- actions

  async function startStop(row: Row): Promise<void> {
    if (row.busy) return;
    const camera = row.camera;
    const running = camera.enabled && camera.status !== "stopped";
    row.busy = true;
    updateRow(row, camera);
    try {
      const updated = await api.post<Camera>(`/api/v1/cameras/${camera.id}/stream/${running ? "stop" : "start"}`);
      if (!alive) return;
      row.busy = false;
      updateRow(row, updated);
    } catch (error) {
      if (!alive) return;
      row.busy = false;
      updateRow(row, row.camera);
      toast(`Could not ${running ? "stop" : "start"} “${camera.name}”: ${errorText(error)}`, "error");
    }
  }

  async function removeCamera(row: Row): Promise<void> {
    const camera = row.camera;
    const ok = await confirmDialog({
      title: `Delete camera “${camera.name}”?`,
      message: "The camera stops and is removed. Its sightings and recordings are kept.",
      confirmLabel: "Delete camera",
      danger: true,
      container: root,
    });
    if (!ok || !alive) return;
    try {
      await api.del(`/api/v1/cameras/${camera.id}`);
      if (!alive) return;
      row.tr.remove();
      rows.delete(camera.id);
      showTableOrEmpty();
      add.focus();
      toast(`Camera “${camera.name}” deleted.`, "success");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        void load(true);
        toast(`Camera “${camera.name}” was already deleted.`, "info");
      } else toast(`Could not delete “${camera.name}”: ${errorText(error)}`, "error");
    }
  }

  // ---- add / edit form

  function openForm(camera: Camera | null): void {
    openCameraForm(root, camera, { alive: () => alive, saved: upsert, gone: () => void load(true) });
  }

  // ---- live status

  const poll = window.setInterval(() => {
    if (polling || document.hidden || !loaded) return;
    polling = true;
    void load(true).finally(() => (polling = false));
  }, POLL_MS);

  const unsubscribe = onEvent((event) => {
    if (event.type !== "CameraStatusChanged") return;
    const row = rows.get(String(event.payload.camera_id ?? ""));
    if (!row) return;
    const status = String(event.payload.status ?? "") as Camera["status"];
    updateRow(row, {
      ...row.camera,
      status,
      status_message: String(event.payload.message ?? ""),
      enabled: status === "stopped" ? row.camera.enabled : true,
    });
  });

  void load();

  return () => {
    alive = false;
    window.clearInterval(poll);
    unsubscribe();
  };
}
