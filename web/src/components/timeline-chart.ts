// Sightings per hour or per day (GET /api/v1/analytics/timeline) as bars
// built from plain elements. Sighted users get bars with tooltips and a few
// axis labels; screen readers get the summary and a table of every bucket.
import type { TimelineCounts } from "../api.js";
import { h, replace } from "../dom.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const hourLabel = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
const hourShort = new Intl.DateTimeFormat(undefined, { hour: "2-digit" });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
// Day buckets are UTC days: label them as such, not in the local zone.
const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
const dayShort = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });

export interface TimelineChart {
  element: HTMLElement;
  render(series: TimelineCounts, note?: string): void;
  add(time: string): void; // one more sighting at `time`, if it falls in the chart
  clear(message: HTMLElement): void;
}

const plural = (n: number) => `${n} sighting${n === 1 ? "" : "s"}`;

export function timelineChart(): TimelineChart {
  let series: TimelineCounts | null = null;
  let note = "";
  const heading = h("h2", { id: "timeline-chart-title" });
  const summary = h("p", { class: "muted timeline-chart-summary" });
  const bars = h("div", { class: "timeline-bars", "aria-hidden": "true" });
  const axis = h("div", { class: "timeline-axis", "aria-hidden": "true" });
  const table = h("table", { class: "visually-hidden" });
  const body = h("div", { class: "timeline-chart-body" }, bars, axis, table);
  const element = h("section", { class: "card timeline-chart", "aria-labelledby": heading.id, "data-testid": "timeline-chart" }, heading, summary, body);

  const step = () => (series?.bucket === "day" ? DAY_MS : HOUR_MS);
  const start = (i: number) => new Date(new Date(series!.from).getTime() + i * step());
  const label = (i: number) => {
    const from = start(i);
    if (series!.bucket === "day") return `${dayLabel.format(from)} (UTC)`;
    const to = new Date(from.getTime() + HOUR_MS);
    return `${hourLabel.format(from)}–${timeOnly.format(to)}`;
  };

  function draw(): void {
    if (!series) return;
    const counts = series.counts;
    const max = Math.max(1, ...counts);
    const total = counts.reduce((a, b) => a + b, 0);
    const byDay = series.bucket === "day";
    heading.textContent = byDay ? "Sightings per day" : "Sightings per hour";
    let busiest = 0;
    counts.forEach((c, i) => {
      if (c > counts[busiest]!) busiest = i;
    });
    summary.textContent =
      (total === 0 ? "No sightings in this period." : `${plural(total)}; busiest ${byDay ? "day" : "hour"}: ${label(busiest)} with ${counts[busiest]}.`) +
      (byDay ? " Days are UTC days." : "") +
      (note ? ` ${note}` : "");
    const every = Math.max(1, Math.ceil(counts.length / 8));
    replace(
      bars,
      counts.map((count, i) => {
        const bar = h("span", { class: "timeline-bar" + (count === 0 ? " is-zero" : "") });
        bar.style.height = count === 0 ? "2px" : `${Math.max(4, (count / max) * 100)}%`;
        return h("div", { class: "timeline-col", title: `${label(i)}: ${plural(count)}` }, bar);
      }),
    );
    replace(
      axis,
      counts.map((_, i) =>
        h("span", { class: "timeline-tick" }, i % every === 0 ? (byDay ? dayShort.format(start(i)) : hourShort.format(start(i))) : ""),
      ),
    );
    bars.style.setProperty("--columns", String(counts.length));
    axis.style.setProperty("--columns", String(counts.length));
    replace(
      table,
      h("caption", {}, heading.textContent),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, byDay ? "Day" : "Hour"), h("th", { scope: "col" }, "Sightings"))),
      h("tbody", {}, counts.map((c, i) => h("tr", {}, h("td", {}, label(i)), h("td", {}, String(c))))),
    );
  }

  return {
    element,
    render(next, extra = "") {
      series = { ...next, counts: [...next.counts] };
      note = extra;
      replace(body, bars, axis, table);
      draw();
    },
    add(time) {
      if (!series) return;
      const t = new Date(time).getTime();
      const index = Math.floor((t - new Date(series.from).getTime()) / step());
      if (index < 0 || index >= series.counts.length + 1) return;
      if (index === series.counts.length) series.counts.push(0); // a new hour/day began
      series.counts[index] = (series.counts[index] ?? 0) + 1;
      draw();
    },
    clear(message) {
      series = null;
      heading.textContent = "Sightings over time";
      summary.textContent = "";
      replace(body, message);
    },
  };
}
