// A profile's classification as every people page shows it: the coloured
// pill (with its word, so colour is never the only cue) and the select.
import type { Classification } from "../api.js";
import { h } from "../dom.js";

export const classifications: Classification[] = ["trusted", "known", "unknown", "flagged"];

export const classificationLabels: Record<Classification, string> = {
  trusted: "Trusted",
  known: "Known",
  unknown: "Unknown",
  flagged: "Flagged",
};

export function classificationLabel(value: string): string {
  return classificationLabels[value as Classification] ?? value;
}

export function classificationPill(value: string): HTMLElement {
  return h("span", { class: `pill pill-${value}`, "data-testid": "classification-pill" }, classificationLabel(value));
}

// <select> of the four classifications, with an "any" entry first for filters.
export function classificationSelect(attributes: Record<string, string>, value: string, anyLabel?: string): HTMLSelectElement {
  return h(
    "select",
    attributes,
    anyLabel !== undefined ? h("option", { value: "", selected: value === "" }, anyLabel) : null,
    classifications.map((c) => h("option", { value: c, selected: c === value }, classificationLabels[c])),
  );
}

export function isClassification(value: string | null): value is Classification {
  return value !== null && (classifications as string[]).includes(value);
}
