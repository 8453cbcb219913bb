// From/to filters as <input type="datetime-local"> (the browser's zone) and
// the API's ISO times (a zone is required: we send the local offset), with
// quick ranges. The URL keeps the ISO form so a shared link means the same
// instant everywhere.
import { h } from "../dom.js";

const pad = (n: number) => String(n).padStart(2, "0");

// 2026-11-29T14:05:00+01:00 for a Date, in the browser's zone at that date.
export function isoWithOffset(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

// A datetime-local value ("2026-11-29T14:05") from an ISO time, or "".
export function toInputValue(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// The ISO time (local offset) of a datetime-local value, or null when empty/invalid.
export function fromInputValue(value: string): string | null {
  if (!value) return null;
  // A date-time without a zone is local time (ECMAScript), as the input means it.
  const date = new Date(value.length === 16 ? value + ":00" : value);
  return Number.isNaN(date.getTime()) ? null : isoWithOffset(date);
}

export function validIso(value: string | null): string | null {
  if (!value) return null;
  return Number.isNaN(new Date(value).getTime()) ? null : value;
}

export interface TimeRange {
  from: string | null;
  to: string | null;
}

export interface QuickRange {
  label: string;
  range: () => TimeRange;
}

export const quickRanges: QuickRange[] = [
  { label: "Last hour", range: () => ({ from: isoWithOffset(new Date(Date.now() - 3_600_000)), to: null }) },
  {
    label: "Today",
    range: () => {
      const midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      return { from: isoWithOffset(midnight), to: null };
    },
  },
  {
    label: "7 days",
    range: () => {
      const start = new Date();
      start.setHours(0, 0, 0, 0);
      start.setDate(start.getDate() - 6);
      return { from: isoWithOffset(start), to: null };
    },
  },
  { label: "All time", range: () => ({ from: null, to: null }) },
];

export interface RangeFields {
  element: HTMLElement;
  value(): TimeRange;
  set(range: TimeRange): void;
}

// "From" and "To" fields plus quick-range buttons; onChange gets the new range
// (only when it is valid: from before to), onInvalid the reason otherwise.
export function rangeFields(idPrefix: string, initial: TimeRange, onChange: (range: TimeRange) => void): RangeFields {
  const from = h("input", { type: "datetime-local", id: `${idPrefix}-from`, value: toInputValue(initial.from), "data-testid": `${idPrefix}-from` });
  const to = h("input", { type: "datetime-local", id: `${idPrefix}-to`, value: toInputValue(initial.to), "data-testid": `${idPrefix}-to` });
  const error = h("p", { class: "field-error", id: `${idPrefix}-range-error`, role: "alert" });
  let current: TimeRange = { ...initial };

  const read = (): TimeRange => ({
    // Keep the exact instant from the URL while the field still shows it.
    from: from.value && from.value === toInputValue(current.from) ? current.from : fromInputValue(from.value),
    to: to.value && to.value === toInputValue(current.to) ? current.to : fromInputValue(to.value),
  });

  const changed = () => {
    const range = read();
    if (range.from && range.to && new Date(range.from) >= new Date(range.to)) {
      error.textContent = "“From” must be before “To”.";
      to.setAttribute("aria-invalid", "true");
      return;
    }
    error.textContent = "";
    to.removeAttribute("aria-invalid");
    current = range;
    onChange(range);
  };
  from.addEventListener("change", changed);
  to.addEventListener("change", changed);
  to.setAttribute("aria-describedby", error.id);

  const set = (range: TimeRange) => {
    current = { ...range };
    from.value = toInputValue(range.from);
    to.value = toInputValue(range.to);
    error.textContent = "";
    to.removeAttribute("aria-invalid");
  };

  const quick = h(
    "div",
    { class: "quick-ranges", role: "group", "aria-label": "Quick ranges" },
    quickRanges.map((q) =>
      h(
        "button",
        {
          type: "button",
          class: "button button-small",
          onclick: () => {
            const range = q.range();
            set(range);
            onChange(range);
          },
        },
        q.label,
      ),
    ),
  );

  const element = h(
    "div",
    { class: "range-fields" },
    h("div", { class: "filter" }, h("label", { for: from.id }, "From"), from),
    h("div", { class: "filter" }, h("label", { for: to.id }, "To"), to),
    quick,
    error,
  );
  return { element, value: () => ({ ...current }), set };
}
