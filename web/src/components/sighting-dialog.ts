// One sighting in detail: the whole frame, the recording that shows it,
// played from the moment of the sighting (the server answers Range requests,
// so the browser seeks without downloading the whole file), and the
// correction of who it is (sighting-feedback.ts).
import { ApiError, api, errorText, withToken, type Recording, type Sighting, type SightingDetail } from "../api.js";
import { formatTime, h, profileName, replace } from "../dom.js";
import { classificationPill } from "./classification.js";
import { matchLabel } from "./match-strength.js";
import { openModal } from "./modal-dialog.js";
import type { ProfileSummary } from "./profile-lookup.js";
import { sightingFeedback } from "./sighting-feedback.js";

let counter = 0;

// A <video> of a finished recording that seeks to `offset` once its length is known.
export function recordingVideo(recording: Recording, offset: number | null, testId = "recording-video"): HTMLVideoElement {
  const video = h("video", {
    controls: true,
    preload: "metadata",
    playsinline: true,
    src: withToken(recording.video_url ?? `/api/v1/recordings/${recording.id}/video`),
    "data-testid": testId,
  });
  if (offset !== null && offset > 0) {
    video.addEventListener(
      "loadedmetadata",
      () => {
        const end = Number.isFinite(video.duration) ? Math.max(0, video.duration - 0.1) : offset;
        video.currentTime = Math.min(offset, end);
      },
      { once: true },
    );
  }
  return video;
}

// Stops a video's download when its dialog or page goes away.
export function stopVideo(video: HTMLVideoElement): void {
  video.pause();
  video.removeAttribute("src");
  video.load();
}

// Said when the sighting was re-attributed: its track was first taken for
// someone else (often an unknown face, whose profile was then removed).
function correctionNote(sighting: Sighting): HTMLElement | null {
  const from = sighting.corrected_from;
  if (!from) return null;
  const note = h("p", { class: "notice", "data-testid": "sighting-corrected" }, "Corrected automatically: this face was first taken for another profile.");
  api
    .get<ProfileSummary>(`/api/v1/profiles/${from}`)
    .then((first) => {
      replace(note, "Corrected automatically: this face was first taken for ", h("a", { href: `/profiles/${from}` }, profileName(first)), ".");
    })
    .catch(() => {
      replace(note, "Corrected automatically: this face was first taken for an unknown face, whose profile was then removed.");
    });
  return note;
}

// Who the dialog says the sighting is: `profile` null when it was deleted,
// undefined when it could not be loaded.
function whoName(sighting: Sighting, profile: ProfileSummary | null | undefined): string {
  return profile ? profileName(profile) : profile === null ? "Deleted profile" : `Profile ${sighting.profile_id.slice(0, 8)}`;
}

// `onChanged`: the sighting was moved to another person (or back) from the dialog.
export function openSightingDialog(
  container: Element,
  sighting: Sighting,
  profile: ProfileSummary | null | undefined,
  cameraName: string,
  onChanged?: (sighting: SightingDetail) => void,
): void {
  const id = `sighting-${++counter}`;
  const name = whoName(sighting, profile);
  const close = h("button", { type: "button", class: "button" }, "Close");
  const videoHost = h("div", { class: "sighting-video" }, h("p", { class: "muted" }, "Loading the recording…"));
  let video: HTMLVideoElement | null = null;

  const frame = sighting.frame_url
    ? h("img", { class: "sighting-frame", src: withToken(sighting.frame_url), alt: `The camera's view when ${name} was seen`, decoding: "async" })
    : h("p", { class: "muted" }, "No frame snapshot was kept for this sighting.");
  if (frame instanceof HTMLImageElement) {
    frame.addEventListener("error", () => frame.replaceWith(h("p", { class: "muted" }, "The frame snapshot is no longer available (storage clean-up).")), { once: true });
  }

  const offset = sighting.recording_offset_s;
  const profileLink = h("span");
  const links = h(
    "p",
    { class: "sighting-links" },
    profileLink,
    sighting.recording_id
      ? h("a", { href: `/recordings/${sighting.recording_id}` + (offset !== null ? `?t=${offset.toFixed(1)}` : ""), class: "button button-small" }, "Open recording")
      : null,
  );
  const title = h("h2", { id: `${id}-title` });
  const showWho = (p: ProfileSummary | null | undefined, profileId: string) => {
    replace(title, whoName(sighting, p), " ", p ? classificationPill(p.classification) : null);
    replace(profileLink, p !== null ? h("a", { href: `/profiles/${profileId}`, class: "button button-small" }, "Open profile") : null);
  };
  showWho(profile, sighting.profile_id);
  const feedback = sightingFeedback(sighting, profile, (moved) => {
    showWho(moved.profile, moved.profile_id);
    onChanged?.(moved);
  });

  const dialog = h(
    "dialog",
    { class: "sighting-dialog", "aria-labelledby": `${id}-title`, "data-testid": "sighting-dialog" },
    h("div", { class: "dialog-header" }, title, close),
    h("p", { class: "muted" }, h("time", { datetime: sighting.time }, formatTime(sighting.time)), ` · ${cameraName} · `, matchLabel(sighting.distance)),
    correctionNote(sighting),
    h("div", { class: "sighting-media" }, h("figure", {}, frame, h("figcaption", { class: "muted" }, "Frame")), h("figure", {}, videoHost, h("figcaption", { class: "muted" }, "Recording"))),
    feedback.element,
    links,
  );
  const modal = openModal(dialog, container, () => {
    if (video) stopVideo(video);
    feedback.dispose();
  });
  close.addEventListener("click", () => modal.close());
  close.focus();
  // Links inside leave the page: close first so focus and media are released.
  links.addEventListener("click", (event) => {
    if ((event.target as Element).closest("a")) modal.close();
  });

  if (!sighting.recording_id) {
    replace(videoHost, h("p", { class: "muted", "data-testid": "no-recording" }, "No recording: the camera was not recording when this person was seen."));
    return;
  }
  api
    .get<Recording>(`/api/v1/recordings/${sighting.recording_id}`)
    .then((recording) => {
      if (!dialog.isConnected) return;
      if (!recording.end) {
        replace(videoHost, h("p", { class: "notice" }, "This recording is still being written; it can be played when it is finished."));
        return;
      }
      video = recordingVideo(recording, offset, "sighting-video");
      video.addEventListener("error", () => {
        if (video?.getAttribute("src")) replace(videoHost, h("p", { class: "state-error" }, "The recording could not be played: its file may have been removed."));
      });
      replace(videoHost, video);
    })
    .catch((error: unknown) => {
      if (!dialog.isConnected) return;
      const text = error instanceof ApiError && error.status === 404 ? "The recording no longer exists (storage clean-up)." : `The recording could not be loaded: ${errorText(error)}`;
      replace(videoHost, h("p", { class: "state-error", "data-testid": "no-recording" }, text));
    });
}
