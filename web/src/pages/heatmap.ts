// /heatmap: when people are seen, by day of the week and hour of the day
// (GET /api/v1/analytics/heatmap) over the last 7, 28 or 90 days. The API
// counts in UTC; when the browser's zone is a whole number of hours off UTC
// for the whole range, the grid is rotated into local hours (the default),
// otherwise it stays in UTC. The page always says which.
import { api, type HeatmapCounts } from "../api.js";
import { h, replace } from "../dom.js";
import { formatDate } from "../time.js";
import { setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";

const RANGES = [7, 28, 90];
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const LEVELS = 5;
const DAY_MS = 86_400_000;

const pad = (n: number) => String(n).padStart(2, "0");
const hours = (hour: number) => `${pad(hour)}:00-${pad(hour + 1)}:00`;
const sightings = (n: number) => `${n} sighting${n === 1 ? "" : "s"}`;

function offsetLabel(minutes: number): string {
  const sign = minutes >= 0 ? "+" : "-";
  const abs = Math.abs(minutes);
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// The zone offset (minutes east of UTC) that holds for the whole range, when
// it is whole hours; null when the grid cannot be shown in local hours.
function localOffset(from: Date, to: Date): number | null {
  const a = -from.getTimezoneOffset();
  const b = -to.getTimezoneOffset();
  return a === b && a % 60 === 0 ? a : null;
}

// counts[d][h] in UTC -> in a zone `offsetHours` east of UTC (Monday first).
function rotate(counts: number[][], offsetHours: number): number[][] {
  const out = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  for (let d = 0; d < 7; d++) {
    for (let hour = 0; hour < 24; hour++) {
      const t = (((d * 24 + hour + offsetHours) % 168) + 168) % 168;
      out[Math.floor(t / 24)]![t % 24] = counts[d]?.[hour] ?? 0;
    }
  }
  return out;
}

export function heatmapPage({ root, query }: PageContext): Cleanup {
  let days = RANGES.includes(Number(query.get("days"))) ? Number(query.get("days")) : 28;
  let useUtc = query.get("tz") === "utc";
  let active = true;
  let loadNumber = 0;
  let data: HeatmapCounts | null = null;

  const rangeButtons = RANGES.map((n) =>
    h("button", { type: "button", class: "button segment", "aria-pressed": String(n === days), "data-days": String(n), "data-testid": `heatmap-range-${n}` }, `${n} days`),
  );
  const zoneSelect = h("select", { id: "heatmap-zone", disabled: true }, h("option", { value: "utc" }, "UTC"));
  const zoneNote = h("p", { class: "muted heatmap-zone-note", "data-testid": "heatmap-zone" });
  const content = h("div", { class: "heatmap-content" });

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Heatmap")),
    h(
      "div",
      { class: "toolbar" },
      h("div", { class: "filter" }, h("span", { class: "filter-label", id: "heatmap-range-label" }, "Period"), h("div", { class: "segments", role: "group", "aria-labelledby": "heatmap-range-label" }, rangeButtons)),
      h("div", { class: "filter" }, h("label", { for: zoneSelect.id }, "Hours in"), zoneSelect),
    ),
    content,
  );

  const writeQuery = () => {
    const q = new URLSearchParams();
    if (days !== 28) q.set("days", String(days));
    if (useUtc) q.set("tz", "utc");
    setQuery(q);
  };

  for (const button of rangeButtons) {
    button.addEventListener("click", () => {
      days = Number(button.dataset.days);
      for (const b of rangeButtons) b.setAttribute("aria-pressed", String(b === button));
      writeQuery();
      void load();
    });
  }
  zoneSelect.addEventListener("change", () => {
    useUtc = zoneSelect.value === "utc";
    writeQuery();
    if (data) show(data);
  });

  function show(result: HeatmapCounts): void {
    const from = new Date(result.from);
    const to = new Date(result.to);
    const offset = localOffset(from, to);
    // The zone choice: local only when it can be shown exactly.
    replace(
      zoneSelect,
      offset !== null && offset !== 0 ? h("option", { value: "local", selected: !useUtc }, `Local time (${offsetLabel(offset)})`) : null,
      h("option", { value: "utc", selected: useUtc || offset === null || offset === 0 }, offset === 0 ? "UTC (your time zone)" : "UTC"),
    );
    zoneSelect.disabled = zoneSelect.options.length < 2;
    const local = offset !== null && offset !== 0 && !useUtc;
    const counts = local ? rotate(result.counts, offset / 60) : result.counts.map((row) => [...row]);
    zoneNote.textContent = local
      ? `Hours in your local time (${offsetLabel(offset)}), converted from the server's UTC counts.`
      : offset === null
        ? from.getTimezoneOffset() !== to.getTimezoneOffset()
          ? "Hours in UTC: your time zone changes its offset (daylight saving time) within this period, so the counts are shown as the server keeps them."
          : `Hours in UTC: your time zone (${offsetLabel(-to.getTimezoneOffset())}) is not a whole number of hours from UTC, so the counts are shown as the server keeps them.`
        : offset === 0
          ? "Hours in UTC, which is also your time zone."
          : "Hours in UTC.";

    const total = counts.flat().reduce((a, b) => a + b, 0);
    const period = `${formatDate(from)} – ${formatDate(to)}`;
    if (total === 0) {
      replace(content, zoneNote, empty(`No sightings in the last ${days} days (${period}).`, h("a", { href: "/cameras", class: "button" }, "Check the cameras")));
      return;
    }
    const max = Math.max(...counts.flat());
    const level = (n: number) => (n === 0 ? 0 : Math.max(1, Math.ceil((n / max) * LEVELS)));

    const detail = h("p", { class: "heatmap-detail", "data-testid": "heatmap-detail" }, "Point at or move through the cells for their counts.");
    const describe = (d: number, hour: number) => `${DAYS[d]} ${hours(hour)}: ${sightings(counts[d]![hour]!)}`;

    const cells: HTMLTableCellElement[][] = [];
    const table = h(
      "table",
      { class: "heatmap", role: "grid", "aria-labelledby": "heatmap-title", "aria-describedby": "heatmap-help", "data-testid": "heatmap-grid" },
      h("thead", {}, h("tr", {}, h("td", {}), Array.from({ length: 24 }, (_, hour) => h("th", { scope: "col", class: "heatmap-hour", "aria-label": hours(hour) }, pad(hour))))),
      h(
        "tbody",
        {},
        DAYS.map((day, d) => {
          const row: HTMLTableCellElement[] = [];
          cells.push(row);
          return h(
            "tr",
            {},
            h("th", { scope: "row", class: "heatmap-day", "aria-label": day }, day.slice(0, 3)),
            Array.from({ length: 24 }, (_, hour) => {
              const n = counts[d]![hour]!;
              const label = describe(d, hour);
              const cell = h(
                "td",
                { class: `heatmap-cell heat-${level(n)}`, role: "gridcell", tabindex: d === 0 && hour === 0 ? 0 : -1, "aria-label": label, title: label, "data-day": d, "data-hour": hour, "data-count": n },
                h("span", { class: "heatmap-count", "aria-hidden": "true" }, n > 0 ? String(n) : ""),
              );
              row.push(cell);
              return cell;
            }),
          );
        }),
      ),
    );

    // One cell in the tab order; arrows, Home/End move (the grid pattern).
    let at: [number, number] = [0, 0];
    const focusCell = (d: number, hour: number) => {
      cells[at[0]]![at[1]]!.tabIndex = -1;
      at = [d, hour];
      const cell = cells[d]![hour]!;
      cell.tabIndex = 0;
      cell.focus();
    };
    table.addEventListener("keydown", (event) => {
      const [d, hour] = at;
      const moves: Record<string, [number, number]> = {
        ArrowRight: [d, Math.min(23, hour + 1)],
        ArrowLeft: [d, Math.max(0, hour - 1)],
        ArrowDown: [Math.min(6, d + 1), hour],
        ArrowUp: [Math.max(0, d - 1), hour],
        Home: [d, 0],
        End: [d, 23],
      };
      const next = moves[event.key];
      if (!next) return;
      event.preventDefault();
      focusCell(next[0], next[1]);
    });
    const showDetail = (event: Event) => {
      const cell = (event.target as Element).closest<HTMLElement>(".heatmap-cell");
      if (cell) detail.textContent = describe(Number(cell.dataset.day), Number(cell.dataset.hour));
    };
    table.addEventListener("focusin", (event) => {
      showDetail(event);
      const cell = (event.target as Element).closest<HTMLElement>(".heatmap-cell");
      if (cell) {
        cells[at[0]]![at[1]]!.tabIndex = -1;
        at = [Number(cell.dataset.day), Number(cell.dataset.hour)];
        cell.tabIndex = 0;
      }
    });
    table.addEventListener("mouseover", showDetail);

    // Legend: the count range of each shade.
    const bounds = (k: number) => [Math.floor(((k - 1) / LEVELS) * max) + 1, Math.floor((k / LEVELS) * max)] as const;
    const legendItems = [h("li", {}, h("span", { class: "heatmap-swatch heat-0", "aria-hidden": "true" }), "0")];
    for (let k = 1; k <= LEVELS; k++) {
      const [low, high] = bounds(k);
      if (high < low) continue; // small maxima leave some shades unused
      legendItems.push(h("li", {}, h("span", { class: `heatmap-swatch heat-${k}`, "aria-hidden": "true" }), low === high ? String(low) : `${low}–${high}`));
    }

    // Summary: the busiest hours, day and time of day.
    const cellsByCount = counts
      .flatMap((row, d) => row.map((n, hour) => ({ d, hour, n })))
      .filter((c) => c.n > 0)
      .sort((a, b) => b.n - a.n)
      .slice(0, 3);
    const dayTotals = counts.map((row) => row.reduce((a, b) => a + b, 0));
    const hourTotals = Array.from({ length: 24 }, (_, hour) => counts.reduce((sum, row) => sum + row[hour]!, 0));
    const busiestDay = dayTotals.indexOf(Math.max(...dayTotals));
    const busiestHour = hourTotals.indexOf(Math.max(...hourTotals));

    replace(
      content,
      h(
        "section",
        { class: "card heatmap-card", "aria-labelledby": "heatmap-title" },
        h("h2", { id: "heatmap-title" }, `Sightings by day and hour, last ${days} days`),
        h("p", { class: "muted" }, `${sightings(total)} from ${period}.`),
        zoneNote,
        h("div", { class: "heatmap-scroll" }, table),
        h("p", { class: "visually-hidden", id: "heatmap-help" }, "Use the arrow keys to move between hours and days."),
        detail,
        h("div", { class: "heatmap-legend" }, h("span", { class: "muted", id: "heatmap-legend-title" }, "Sightings per hour:"), h("ul", { "aria-labelledby": "heatmap-legend-title" }, legendItems)),
      ),
      h(
        "section",
        { class: "card heatmap-summary", "aria-labelledby": "heatmap-summary-title", "data-testid": "heatmap-summary" },
        h("h2", { id: "heatmap-summary-title" }, "Busiest times"),
        h("ol", { class: "busiest-list" }, cellsByCount.map((c) => h("li", {}, h("strong", {}, `${DAYS[c.d]} ${hours(c.hour)}`), ` — ${sightings(c.n)}`))),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Busiest day"),
          h("dd", {}, `${DAYS[busiestDay]} (${sightings(dayTotals[busiestDay]!)})`),
          h("dt", {}, "Busiest hour of the day"),
          h("dd", {}, `${hours(busiestHour)} (${sightings(hourTotals[busiestHour]!)})`),
          h("dt", {}, "Average per day"),
          h("dd", {}, (total / days).toFixed(1)),
        ),
      ),
    );
  }

  async function load(): Promise<void> {
    const number = ++loadNumber;
    replace(content, loading("Loading the heatmap…"));
    const to = new Date();
    const from = new Date(to.getTime() - days * DAY_MS);
    try {
      const result = await api.get<HeatmapCounts>("/api/v1/analytics/heatmap", { from: from.toISOString(), to: to.toISOString() });
      if (!active || number !== loadNumber) return;
      data = result;
      show(result);
    } catch (error) {
      if (!active || number !== loadNumber) return;
      data = null;
      replace(content, failed(error, () => void load()));
    }
  }

  void load();
  return () => {
    active = false;
  };
}
