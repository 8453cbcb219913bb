// Sightings per hour as 24 bars drawn with plain elements (no library, no
// SVG text that shrinks on a phone). Sighted users get the bars, the values
// above them and a tooltip per bar; screen readers get a summary and a table.
import { h, replace } from "../dom.js";
import { formatClock } from "../time.js";

const HOUR_MS = 3_600_000;

export interface HourlySeries {
  from: string; // start of the first hour (ISO)
  counts: number[];
}

export interface HourlyChart {
  element: HTMLElement;
  render(series: HourlySeries): void;
  // Counts one sighting at `time`; the window moves on when a new hour starts.
  add(time: string): void;
  // Moves the window on to the current hour (call it now and then).
  tick(): void;
}

export function hourlyChart(caption: string): HourlyChart {
  let series: HourlySeries = { from: new Date().toISOString(), counts: [] };
  const summary = h("p", { class: "hourly-summary" });
  const bars = h("div", { class: "hourly-bars", "aria-hidden": "true" });
  const table = h("table", {});
  // A table ignores a 1px height: its wrapper hides it.
  const element = h(
    "figure",
    { class: "hourly-chart", "data-testid": "sightings-chart" },
    h("figcaption", { class: "visually-hidden" }, caption),
    summary,
    bars,
    h("div", { class: "visually-hidden" }, table),
  );

  const hourAt = (index: number) => new Date(new Date(series.from).getTime() + index * HOUR_MS);
  const hourLabel = (index: number) => formatClock(hourAt(index), false);

  // Moves the window on so that its last hour holds `time`; returns the
  // index of `time`'s hour, or -1 when it is before the window.
  function advance(time: string): number {
    if (series.counts.length === 0) return -1;
    const start = new Date(series.from).getTime();
    const index = Math.floor((new Date(time).getTime() - start) / HOUR_MS);
    const last = series.counts.length - 1;
    if (index < 0) return -1;
    if (index <= last) return index;
    const shift = index - last;
    const counts = series.counts.slice(Math.min(shift, series.counts.length));
    while (counts.length < series.counts.length) counts.push(0);
    series = { from: new Date(start + shift * HOUR_MS).toISOString(), counts };
    return last;
  }

  function draw(): void {
    const counts = series.counts;
    const max = Math.max(1, ...counts);
    const total = counts.reduce((a, b) => a + b, 0);
    let busiest = -1;
    counts.forEach((count, i) => {
      if (count > 0 && (busiest < 0 || count >= counts[busiest]!)) busiest = i;
    });
    summary.textContent =
      total === 0
        ? "No sightings in the last 24 hours."
        : `${total} sighting${total === 1 ? "" : "s"} in the last 24 hours; busiest hour ${hourLabel(busiest)} (${counts[busiest]}).`;
    replace(
      bars,
      counts.map((count, i) => {
        const bar = h("span", { class: "hourly-bar" + (count === 0 ? " hourly-bar-zero" : "") });
        bar.style.height = count === 0 ? "2px" : `${Math.max(4, (count / max) * 100)}%`;
        const last = i === counts.length - 1;
        // Every third hour is labelled, but not just before "now" (they would touch on a phone).
        return h(
          "div",
          { class: "hourly-col" + (last ? " hourly-col-now" : ""), title: `${hourLabel(i)}: ${count} sighting${count === 1 ? "" : "s"}` },
          h("span", { class: "hourly-value" }, count > 0 ? String(count) : ""),
          h("div", { class: "hourly-track" }, bar),
          h("span", { class: "hourly-label" }, last ? "now" : i % 3 === 0 && i < counts.length - 3 ? hourLabel(i) : ""),
        );
      }),
    );
    replace(
      table,
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Hour starting"), h("th", { scope: "col" }, "Sightings"))),
      h("tbody", {}, counts.map((count, i) => h("tr", {}, h("td", {}, hourLabel(i)), h("td", {}, String(count))))),
    );
  }

  return {
    element,
    render(next) {
      series = { from: next.from, counts: [...next.counts] };
      draw();
    },
    add(time) {
      const index = advance(time);
      if (index < 0) return;
      series.counts[index] = (series.counts[index] ?? 0) + 1;
      draw();
    },
    tick() {
      const before = series.from;
      advance(new Date().toISOString());
      if (series.from !== before) draw();
    },
  };
}
