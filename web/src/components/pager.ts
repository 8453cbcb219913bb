// "Previous · Page 2 of 7 · Next" under a paged list (the API's
// {items, total, page, per_page}); hidden when everything fits on one page.
// `pagerSlot` is the wiring the list pages share.
import { h, replace } from "../dom.js";

export interface PagerOptions {
  page: number;
  perPage: number;
  total: number;
  onPage: (page: number) => void;
  label?: string; // what the pages hold, for the navigation's name: "Profiles"
}

export function pageCount(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / perPage));
}

export function pager({ page, perPage, total, onPage, label = "Results" }: PagerOptions): HTMLElement {
  const pages = pageCount(total, perPage);
  const nav = h("nav", { class: "pager", "aria-label": `${label} pages`, "data-testid": "pager" });
  if (total <= perPage && page <= 1) {
    nav.hidden = true;
    return nav;
  }
  const first = (page - 1) * perPage + 1;
  const last = Math.min(total, page * perPage);
  const previous = h("button", { type: "button", class: "button", "data-testid": "pager-previous", disabled: page <= 1 }, "← Previous");
  const next = h("button", { type: "button", class: "button", "data-testid": "pager-next", disabled: page >= pages }, "Next →");
  previous.addEventListener("click", () => onPage(page - 1));
  next.addEventListener("click", () => onPage(page + 1));
  nav.append(
    previous,
    h("span", { class: "pager-status", "aria-live": "polite" }, total > 0 ? `${first}–${last} of ${total} · page ${page} of ${pages}` : `Page ${page}`),
    next,
  );
  return nav;
}

// Where a page's pager goes, under its list. `go` records the page chosen
// (the page's state and URL query) and loads it; `top`, when given, is
// scrolled to so the new page is read from its start.
export interface PagerSlot {
  element: HTMLElement;
  show(page: number, perPage: number, total: number): void;
  clear(): void;
}

export function pagerSlot(label: string, go: (page: number) => void, top?: () => Element | null): PagerSlot {
  const element = h("div");
  const onPage = (n: number) => {
    go(n);
    top?.()?.scrollIntoView({ block: "start" });
  };
  return {
    element,
    show: (page, perPage, total) => replace(element, pager({ page, perPage, total, label, onPage })),
    clear: () => replace(element),
  };
}

// A positive integer from the URL, or the fallback.
export function pageParam(value: string | null, fallback = 1): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}
