// The strangers waiting for someone to say who they are: unknown profiles
// not yet reviewed (the /review page lists them; the menu shows how many).
// The count follows the profile events, a moment after each burst.
import { api, type Page, type Profile, type Query } from "./api.js";
import { onEvent } from "./events.js";

export function reviewQuery(extra: Query = {}): Query {
  return { classification: "unknown", reviewed: false, ...extra };
}

const listeners = new Set<(count: number | null) => void>();
const CHANGES = new Set(["ProfileCreated", "ProfileUpdated", "ProfileDeleted", "ProfilesMerged"]);
let timer: number | undefined;
let watching = false;

export async function refreshReviewCount(): Promise<void> {
  let count: number | null;
  try {
    count = (await api.get<Page<Profile>>("/api/v1/profiles", reviewQuery({ per_page: 1 }))).total;
  } catch {
    count = null; // not known: the menu shows no number rather than a wrong one
  }
  for (const listener of listeners) listener(count);
}

// `listener` gets the count now and after each change; returns the unsubscribe.
export function onReviewCount(listener: (count: number | null) => void): () => void {
  listeners.add(listener);
  if (!watching) {
    watching = true;
    onEvent((event) => {
      if (!CHANGES.has(event.type) || listeners.size === 0) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void refreshReviewCount(), 1000);
    });
  }
  void refreshReviewCount();
  return () => listeners.delete(listener);
}
