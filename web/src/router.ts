// Client-side routes on the History API. The server answers index.html for
// every such path, so a reload or a shared link opens the same page.

export interface PageContext {
  root: HTMLElement;                 // the page's area, empty when render starts
  params: Record<string, string>;    // ":id" segments
  query: URLSearchParams;
}

// What a page leaves running (event subscriptions, timers, MJPEG streams)
// is stopped by the cleanup it returns, called when the user navigates away.
export type Cleanup = () => void;
export type Page = (context: PageContext) => Cleanup | void;

export interface Route {
  pattern: string;   // "/profiles/:id"
  title: string;
  page: Page;
}

export function match(routes: Route[], path: string): { route: Route; params: Record<string, string> } | null {
  const parts = path.split("/").filter(Boolean);
  for (const route of routes) {
    const pattern = route.pattern.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length; i++) {
      if (pattern[i]!.startsWith(":")) params[pattern[i]!.slice(1)] = decodeURIComponent(parts[i]!);
      else if (pattern[i] !== parts[i]) ok = false;
    }
    if (ok) return { route, params };
  }
  return null;
}

let onChange: () => void = () => {};

// ---- Leaving a page with unsaved work
//
// A page that holds unsaved work (an edit form) registers a guard; leaving it
// then asks first: an in-app link or navigate(), Back and Forward (popstate:
// the URL has already changed, so it is put back while the user decides),
// and closing or reloading the tab (the browser's own question, the only one
// a page may ask there). Redirects (navigate with replace: signing in or out,
// an expired session) never ask.
export interface LeaveGuard {
  unsaved(): boolean;          // false: nothing to lose, leave without asking
  confirm(): Promise<boolean>; // the page's question; true: leave and lose it
}

let guard: LeaveGuard | null = null;
let place = 0;          // the current entry's place in the session history (its state.place)
let rendered = "";      // the path and query the page on screen was rendered for
let restoring = false;  // the next popstate is ours, putting back the URL of the page left
let allowed = false;    // the next popstate was confirmed: leave without asking again
let asking = false;     // the question is open: other ways out wait for its answer

export function guardLeaving(next: LeaveGuard): Cleanup {
  guard = next;
  return () => {
    if (guard === next) guard = null;
  };
}

// Whether the current page may be left now (asks when it holds unsaved
// work); for ways out that are not navigation, such as signing out.
export async function mayLeave(): Promise<boolean> {
  if (asking) return false;
  return !guard || !guard.unsaved() || ask(guard);
}

async function ask(current: LeaveGuard): Promise<boolean> {
  asking = true;
  try {
    return await current.confirm();
  } finally {
    asking = false;
  }
}

const here = () => location.pathname + location.search;
// An entry the router did not make (an in-page #link's) has no place: it counts as the current one.
const placeOf = (state: unknown, fallback: number) => {
  const value = (state as { place?: unknown } | null)?.place;
  return typeof value === "number" ? value : fallback;
};

function show(): void {
  rendered = here();
  guard = null; // a guard belongs to the page that set it
  onChange();
}

function popped(event: PopStateEvent): void {
  const to = placeOf(event.state, place);
  const delta = to - place;
  place = to;
  if (restoring) {
    restoring = false;
    return;
  }
  if (here() === rendered) return; // only the #fragment changed
  if (!allowed && delta !== 0 && (asking || guard?.unsaved())) {
    // Back on the page being left until the user says; then to where they went.
    restoring = true;
    history.go(-delta);
    if (asking || !guard) return;
    void ask(guard).then((leave) => {
      if (!leave) return;
      allowed = true;
      history.go(delta);
    });
    return;
  }
  allowed = false;
  show();
}

export function startRouter(handler: () => void): void {
  onChange = handler;
  place = placeOf(history.state, 0);
  // Each entry the app makes knows its place, so Back and Forward can be undone.
  history.replaceState({ ...(history.state ?? {}), place }, "");
  window.addEventListener("popstate", popped);
  window.addEventListener("beforeunload", (event) => {
    if (!guard?.unsaved()) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers ask only when this is set
  });
  // Same-origin links navigate without a reload (unless opened in a new tab).
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.("a");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    // An in-page link ("Skip to content") is the browser's: it scrolls and moves the focus.
    if (url.hash && url.pathname + url.search === here()) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  show();
}

function go(path: string, replace: boolean): void {
  if (replace) history.replaceState({ place }, "", path);
  else history.pushState({ place: ++place }, "", path);
  show();
  if (!replace) {
    // A new page starts at its top, and keyboard and screen-reader users
    // land on its content rather than on the link they followed.
    window.scrollTo(0, 0);
    document.getElementById("main")?.focus({ preventScroll: true });
  }
}

export function navigate(path: string, replace = false): void {
  if (path === here()) return;
  if (!replace && (asking || guard?.unsaved())) {
    if (asking || !guard) return;
    void ask(guard).then((leave) => {
      if (leave && path !== here()) go(path, false);
    });
    return;
  }
  go(path, replace);
}

// Changes the query of the current page (filters, paging) without re-rendering it.
export function setQuery(query: URLSearchParams): void {
  const text = query.toString();
  setPath(location.pathname + (text ? "?" + text : ""));
}

// Changes the URL without re-rendering: the page shows the change itself
// (the recordings' player). `push` makes it a new history entry, so Back
// returns to the URL before.
export function setPath(path: string, push = false): void {
  if (push) history.pushState({ place: ++place }, "", path);
  else history.replaceState({ place }, "", path);
  rendered = here();
}
