// Camera ids to names for lists of sightings and recordings: loaded once per
// page; a camera that was deleted (or a failed load) shows its short id.
import type { Camera } from "../api.js";
import { listAllCameras } from "./camera-info.js";

export interface CameraNames {
  cameras: Camera[];
  name(id: string): string;
}

export async function loadCameraNames(): Promise<CameraNames> {
  let cameras: Camera[] = [];
  try {
    cameras = await listAllCameras();
  } catch (error) {
    console.warn("cameras could not be loaded", error);
  }
  const names = new Map(cameras.map((c) => [c.id, c.name]));
  return { cameras, name: (id) => names.get(id) ?? `Camera ${id.slice(0, 8)}` };
}
