// Every time the UI shows is written here, in one style: "7 Dec 2026,
// 14:05:09" (the browser's zone, 24-hour clock), its parts ("7 Dec 2026",
// "14:05") where a heading or an axis already says the rest, and "5 min ago"
// where a list shows how recent something is. Built from the date's own
// fields rather than Intl's locale styles, which differ between browsers
// (AM/PM, month first, "Sept") and so gave the pages different formats.
// No DOM here, so the formats are tested in Node (web/test/).

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const pad = (n: number) => String(n).padStart(2, "0");

export type TimeValue = Date | string | number;

export interface DateOptions {
  utc?: boolean;      // the UTC day (the API's day buckets), not the local one
  weekday?: boolean;  // "Monday 7 Dec 2026"
  year?: boolean;     // false: "7 Dec" (an axis within one season)
}

function toDate(value: TimeValue): Date {
  return value instanceof Date ? value : new Date(value);
}

// "7 Dec 2026"; with weekday "Monday 7 Dec 2026"; without year "7 Dec".
export function formatDate(value: TimeValue, { utc = false, weekday = false, year = true }: DateOptions = {}): string {
  const d = toDate(value);
  const day = utc ? d.getUTCDate() : d.getDate();
  const month = MONTHS[utc ? d.getUTCMonth() : d.getMonth()];
  const text = `${day} ${month}` + (year ? ` ${utc ? d.getUTCFullYear() : d.getFullYear()}` : "");
  return weekday ? `${WEEKDAYS[utc ? d.getUTCDay() : d.getDay()]} ${text}` : text;
}

// "14:05:09", or "14:05" without seconds (hours on a chart's axis).
export function formatClock(value: TimeValue, seconds = true): string {
  const d = toDate(value);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}` + (seconds ? `:${pad(d.getSeconds())}` : "");
}

// The absolute form: "7 Dec 2026, 14:05:09"; "never" for a missing time.
export function formatTime(value: TimeValue | null | undefined): string {
  if (value === null || value === undefined || value === "") return "never";
  const d = toDate(value);
  if (Number.isNaN(d.getTime())) return "unknown time";
  return `${formatDate(d)}, ${formatClock(d)}`;
}

// The relative form: "just now", "5 min ago", "3 h ago", "2 d ago" (and
// "in 5 min" for a time ahead, such as a token's expiry). `now` for tests.
export function formatRelative(value: TimeValue | null | undefined, now: number = Date.now()): string {
  if (value === null || value === undefined || value === "") return "never";
  const t = toDate(value).getTime();
  if (Number.isNaN(t)) return "unknown time";
  const seconds = Math.round((now - t) / 1000);
  const ahead = seconds < 0;
  const s = Math.abs(seconds);
  if (s < 60) return "just now";
  const amount = s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} d`;
  return ahead ? `in ${amount}` : `${amount} ago`;
}
