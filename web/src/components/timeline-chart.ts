// Sightings per hour or per day (GET /api/v1/analytics/timeline) as bars
// built from plain elements. Sighted users get bars with tooltips and a few
// axis labels; screen readers get the summary and a table of every bucket.
import type { TimelineCounts } from "../api.js";
import { h, replace } from "../dom.js";
import { formatClock, formatDate } from "../time.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// Day buckets are UTC days: they are labelled as such, not in the local zone.
const dayTick = (d: Date) => formatDate(d, { utc: true, year: false });
const hourTick = (d: Date) => formatClock(d, false);

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
    if (series!.bucket === "day") return `${formatDate(from, { utc: true, weekday: true })} (UTC)`;
    const to = new Date(from.getTime() + HOUR_MS);
    return `${formatDate(from, { weekday: true, year: false })}, ${formatClock(from, false)}–${formatClock(to, false)}`;
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
    // A label starts at its column and runs to the right over the next ones,
    // so none is put in the last `every` columns: there it ran past the
    // chart's edge and was cut off (on a phone, columns are a few px wide).
    const every = Math.max(1, Math.ceil(counts.length / 8));
    const labelled = (i: number) => i % every === 0 && i <= counts.length - every;
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
        h("span", { class: "timeline-tick" }, labelled(i) ? (byDay ? dayTick(start(i)) : hourTick(start(i))) : ""),
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
