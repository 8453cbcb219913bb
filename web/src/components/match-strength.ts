// How closely a sighting's face matched its profile, in words. The API gives
// a number (the sighting's `distance`, lower is closer) that means nothing
// to someone watching their cameras; the bands sit below the default match
// threshold of 0.5, where a face still counts as that person.
import { h } from "../dom.js";

export type MatchStrength = "very close" | "close" | "borderline";

export function matchStrength(distance: number): MatchStrength {
  if (distance < 0.35) return "very close";
  if (distance < 0.45) return "close";
  return "borderline";
}

// "match: close" as text, with a tooltip that says what it means; null when
// the sighting has no distance.
export function matchLabel(distance: number | null | undefined): HTMLElement | null {
  if (typeof distance !== "number" || !Number.isFinite(distance)) return null;
  const strength = matchStrength(distance);
  const title =
    strength === "borderline"
      ? "This face only just resembles the profile's photos: check that it is this person."
      : "How closely this face resembles the profile's photos.";
  return h("span", { title, "data-testid": "match-strength" }, `match: ${strength}`);
}
