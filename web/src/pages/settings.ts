import { h } from "../dom.js";
import type { PageContext } from "../router.js";

// Not built yet: the page says so rather than showing nothing.
export function settingsPage({ root }: PageContext): void {
  root.appendChild(h("p", { class: "state" }, "This page is being built."));
}
