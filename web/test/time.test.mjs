// The UI's one time format (src/time.ts), on the compiled module: run by
// `npm run test:unit` after tsc. Dates are built from local fields, so the
// results hold in any time zone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatClock, formatDate, formatRelative, formatTime } from "../build/js/time.js";

const at = new Date(2026, 11, 7, 14, 5, 9); // 7 Dec 2026, 14:05:09 local

test("absolute times: day, short month, year, 24-hour clock with seconds", () => {
  assert.equal(formatTime(at), "7 Dec 2026, 14:05:09");
  assert.equal(formatTime(at.toISOString()), "7 Dec 2026, 14:05:09");
  assert.equal(formatTime(new Date(2027, 8, 30, 0, 0, 5)), "30 Sep 2027, 00:00:05");
  assert.equal(formatTime(null), "never");
  assert.equal(formatTime(""), "never");
  assert.equal(formatTime("not a time"), "unknown time");
});

test("the parts: date, weekday, clock", () => {
  assert.equal(formatDate(at), "7 Dec 2026");
  assert.equal(formatDate(at, { weekday: true }), "Monday 7 Dec 2026");
  assert.equal(formatDate(at, { year: false }), "7 Dec");
  assert.equal(formatClock(at), "14:05:09");
  assert.equal(formatClock(at, false), "14:05");
});

test("UTC days for the API's day buckets", () => {
  const late = new Date(Date.UTC(2026, 11, 31, 23, 30));
  assert.equal(formatDate(late, { utc: true }), "31 Dec 2026");
  assert.equal(formatDate(late, { utc: true, weekday: true, year: false }), "Thursday 31 Dec");
});

test("relative times", () => {
  const now = at.getTime();
  assert.equal(formatRelative(at, now + 30_000), "just now");
  assert.equal(formatRelative(at, now + 5 * 60_000), "5 min ago");
  assert.equal(formatRelative(at, now + 3 * 3_600_000 + 59_000), "3 h ago");
  assert.equal(formatRelative(at, now + 2 * 86_400_000), "2 d ago");
  assert.equal(formatRelative(at, now - 10 * 60_000), "in 10 min");
  assert.equal(formatRelative(null, now), "never");
});
