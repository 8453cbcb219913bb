// Cameras as several pages show them: the status badge, the source with its
// password hidden, and the full list (all pages of GET /api/v1/cameras).
import { api, type Camera, type Page } from "../api.js";
import { h } from "../dom.js";

export type CameraStatus = Camera["status"];

const statusLabels: Record<CameraStatus, string> = {
  active: "Streaming",
  connecting: "Connecting…",
  error: "Error",
  stopped: "Stopped",
};

export function cameraStatusLabel(status: string): string {
  return statusLabels[status as CameraStatus] ?? status;
}

// "● Streaming" coloured by status (the colour is never the only cue).
export function cameraStatusBadge(status: string): HTMLElement {
  return h("span", { class: `camera-badge status-${status}` }, cameraStatusLabel(status));
}

// rtsp://admin:secret@10.0.0.2/stream -> rtsp://•••@10.0.0.2/stream
export function maskSource(source: string): string {
  return source.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, "$1•••@");
}

export async function listAllCameras(): Promise<Camera[]> {
  const cameras: Camera[] = [];
  for (let page = 1; ; page++) {
    const result = await api.get<Page<Camera>>("/api/v1/cameras", { page, per_page: 200 });
    cameras.push(...result.items);
    if (result.items.length === 0 || cameras.length >= result.total) return cameras;
  }
}

export const cameraKinds: Camera["kind"][] = ["file", "rtsp", "http", "usb", "browser"];

export const cameraKindLabels: Record<Camera["kind"], string> = {
  file: "Video file",
  rtsp: "RTSP stream",
  http: "HTTP / MJPEG",
  usb: "USB camera",
  browser: "Browser camera",
};
