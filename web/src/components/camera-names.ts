// Camera ids to names for lists of sightings and recordings, and the options
// of their camera filter: loaded once per page; a camera that was deleted (or
// a failed load) shows its short id.
import type { Camera } from "../api.js";
import { h } from "../dom.js";
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

// The options of a camera filter after "All cameras"; a chosen camera that no
// longer exists (an old link) stays chosen, under its short id.
export function cameraOptions(names: CameraNames, chosen: string): HTMLOptionElement[] {
  const options = names.cameras.map((c) => h("option", { value: c.id, selected: c.id === chosen }, c.name));
  if (chosen && !names.cameras.some((c) => c.id === chosen)) options.push(h("option", { value: chosen, selected: true }, names.name(chosen)));
  return options;
}
