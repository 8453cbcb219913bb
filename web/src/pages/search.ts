// /search: "Where has this person been?" from a photo. The photo goes to
// POST /api/v1/search/face, which finds its face and every stored sighting
// of a face like it, newest first, paged (each page sends the photo again:
// nothing is kept on the server). Each sighting opens in the sighting dialog.
// Sightings from before sightings kept their face are not searched.
import { ApiError, api, errorText, type FaceSearch, type Sighting } from "../api.js";
import { formatRelative, formatTime, h, profileName, replace } from "../dom.js";
import type { Cleanup, PageContext } from "../router.js";
import { empty, loading } from "../states.js";
import { loadCameraNames, type CameraNames } from "../components/camera-names.js";
import { classificationPill } from "../components/classification.js";
import { faceThumb } from "../components/face-thumb.js";
import { matchLabel } from "../components/match-strength.js";
import { pagerSlot } from "../components/pager.js";
import { photoPicker } from "../components/photo-picker.js";
import { openSightingDialog } from "../components/sighting-dialog.js";

const PER_PAGE = 20;

// How alike a sighting must be, as the match strengths say it (match-strength.ts);
// "" leaves the server's default (its match threshold).
const REACH: Array<[string, string]> = [
  ["", "Anyone who could be them"],
  ["0.45", "Close matches only"],
  ["0.35", "Very close matches only"],
];

// The face found, cut out of the photo the user chose: what the search looks for.
function faceCrop(file: File, box: [number, number, number, number]): HTMLElement {
  const canvas = h("canvas", { class: "search-face", width: 120, height: 120, role: "img", "aria-label": "The face found in the photo", "data-testid": "search-face" });
  const url = URL.createObjectURL(file);
  const image = new Image();
  image.addEventListener("load", () => {
    const [x, y, w, h_] = box;
    const side = Math.max(w, h_) * 1.2; // a little around the face
    const cx = x + w / 2;
    const cy = y + h_ / 2;
    canvas.getContext("2d")?.drawImage(image, cx - side / 2, cy - side / 2, side, side, 0, 0, canvas.width, canvas.height);
    URL.revokeObjectURL(url);
  });
  image.addEventListener("error", () => URL.revokeObjectURL(url));
  image.src = url;
  return canvas;
}

function resultItem(s: Sighting, camera: string, open: () => void): HTMLElement {
  const who = s.profile ? profileName(s.profile) : "Deleted profile";
  return h(
    "li",
    { class: "search-item", "data-testid": "search-item", "data-sighting-id": s.id },
    h(
      "button",
      { type: "button", class: "search-open", "data-testid": "search-open", onclick: () => open() },
      faceThumb(s.snapshot_url, s.profile?.name ?? "?", "small"),
      h(
        "span",
        { class: "search-item-text" },
        h("span", { class: "search-item-who" }, who, " ", s.profile ? classificationPill(s.profile.classification) : null),
        h("span", { class: "muted" }, h("time", { datetime: s.time, title: formatTime(s.time) }, formatTime(s.time)), ` · ${formatRelative(s.time)} · ${camera}`),
        h("span", { class: "muted" }, matchLabel(s.distance)),
      ),
    ),
  );
}

export function searchPage({ root }: PageContext): Cleanup {
  let active = true;
  let page = 1;
  let asked = 0;
  let file: File | null = null;
  let reach = "";
  let cameras: CameraNames | null = null;
  const picker = photoPicker({
    id: "search-photo",
    label: "Photo of the person",
    hint: "One clear face; drop a photo here or choose one. The biggest face in the photo is searched for.",
    single: true,
  });
  const reachSelect = h("select", { id: "search-reach" }, REACH.map(([value, label]) => h("option", { value }, label)));
  const submit = h("button", { type: "submit", class: "button button-primary", "data-testid": "search-submit" }, "Search");
  const formError = h("p", { class: "form-error", role: "alert", "data-testid": "search-error" });
  const form = h(
    "form",
    { class: "card search-form", "aria-labelledby": "search-form-title", novalidate: true },
    h("h2", { id: "search-form-title" }, "Find a person by photo"),
    picker.element,
    h("label", { for: reachSelect.id }, "Show"),
    reachSelect,
    formError,
    h("div", { class: "form-actions" }, submit),
  );
  const found = h("div", { class: "search-found", "aria-live": "polite", "data-testid": "search-summary" });
  const results = h("div", { class: "search-results" });
  const pages = pagerSlot("Sightings", (n) => {
    page = n;
    void search();
  }, () => found);

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Search by photo")),
    h("div", { class: "search-columns" }, form, h("section", { class: "search-answer", "aria-labelledby": "search-results-title" },
      h("h2", { id: "search-results-title" }, "Sightings"), found, results, pages.element)),
  );
  replace(results, empty("Choose a photo and search: every sighting of that face is listed here, newest first."));

  async function search(): Promise<void> {
    if (!file) return;
    const number = ++asked;
    const body = new FormData();
    body.append("photo", file, file.name);
    submit.disabled = true;
    formError.textContent = "";
    results.setAttribute("aria-busy", "true");
    replace(results, loading("Searching the sightings…"));
    try {
      const [answer, names] = await Promise.all([
        api.post<FaceSearch>("/api/v1/search/face", body, { radius: reach, page, per_page: PER_PAGE }),
        cameras ? Promise.resolve(cameras) : loadCameraNames(),
      ]);
      if (!active || number !== asked) return;
      cameras = names;
      replace(
        found,
        faceCrop(file, answer.face.box),
        h("p", { "data-testid": "search-counts" }, `Searched ${answer.searched} sighting${answer.searched === 1 ? "" : "s"}: `,
          h("strong", {}, answer.total === 0 ? "none of this face" : `${answer.total} of this face`), "."),
      );
      if (answer.items.length === 0) {
        replace(results, empty(answer.total ? "No sightings on this page." : "No camera has seen this face yet, or only before faces were kept with sightings."));
      } else {
        replace(
          results,
          h("ol", { class: "plain-list search-list", "data-testid": "search-list" },
            answer.items.map((s) => {
              const camera = names.name(s.camera_id);
              return resultItem(s, camera, () => openSightingDialog(root, s, s.profile, camera, () => void search()));
            })),
        );
      }
      pages.show(page, PER_PAGE, answer.total);
    } catch (error) {
      if (!active || number !== asked) return;
      replace(found);
      replace(results);
      pages.clear();
      if (error instanceof ApiError && error.code === "no_face")
        formError.textContent = "No face found in this photo. Choose one where the face is clear and turned to the camera.";
      else if (!picker.showError(error)) formError.textContent = `The search failed: ${errorText(error)}`;
    } finally {
      if (number === asked) {
        submit.disabled = false;
        results.removeAttribute("aria-busy");
      }
    }
  }

  reachSelect.addEventListener("change", () => (reach = reachSelect.value));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    picker.clearErrors();
    file = picker.files()[0] ?? null;
    if (!file) {
      formError.textContent = "Choose a photo first.";
      picker.input.focus();
      return;
    }
    page = 1;
    void search();
  });

  return () => {
    active = false;
    picker.dispose();
  };
}
