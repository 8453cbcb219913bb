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

export function startRouter(handler: () => void): void {
  onChange = handler;
  window.addEventListener("popstate", () => onChange());
  // Same-origin links navigate without a reload (unless opened in a new tab).
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.("a");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  onChange();
}

export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  onChange();
  if (!replace) {
    // A new page starts at its top, and keyboard and screen-reader users
    // land on its content rather than on the link they followed.
    window.scrollTo(0, 0);
    document.getElementById("main")?.focus({ preventScroll: true });
  }
}

// Changes the query of the current page (filters, paging) without re-rendering it.
export function setQuery(query: URLSearchParams): void {
  const text = query.toString();
  history.replaceState(null, "", location.pathname + (text ? "?" + text : ""));
}
