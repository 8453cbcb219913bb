// The error state of a section that could not load, saying what failed:
// "Could not load the cameras: The server cannot be reached. …".
import { errorText } from "../api.js";
import { failed } from "../states.js";

export function loadFailed(what: string, error: unknown, retry: () => void): HTMLElement {
  return failed(new Error(`Could not load ${what}: ${errorText(error)}`), retry);
}
