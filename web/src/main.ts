// The app shell: login gate, navigation, live connection indicator, alert
// toasts, and the page area the router fills.
import { api, setToken, token, whenUnauthorized } from "./api.js";
import { h, profileName, replace } from "./dom.js";
import { connectEvents, disconnectEvents, onConnection, onEvent } from "./events.js";
import { addAlert, onNotificationsChanged, unreadCount } from "./notifications.js";
import { onReviewCount } from "./review-queue.js";
import { routes } from "./pages/index.js";
import { match, mayLeave, navigate, startRouter, type Cleanup } from "./router.js";
import { toast } from "./toast.js";
import { loginPage } from "./pages/login.js";
import { forgetUser, loadUser } from "./session.js";

const app = document.getElementById("app")!;
let cleanup: Cleanup | void;
let shell: { main: HTMLElement; nav: HTMLElement; status: HTMLElement; badge: HTMLElement; stop: () => void } | null = null;

const menu: Array<[string, string]> = [
  ["/", "Dashboard"],
  ["/live", "Live"],
  ["/profiles", "Profiles"],
  ["/review", "Review"],
  ["/search", "Search by photo"],
  ["/timeline", "Timeline"],
  ["/heatmap", "Heatmap"],
  ["/recordings", "Recordings"],
  ["/cameras", "Cameras"],
  ["/alerts", "Alerts"],
  ["/settings", "Settings"],
  ["/users", "Users"],
  ["/audit", "Audit log"],
];

// Menu entries only some roles may use (session.ts hides them for others).
const menuNeeds: Record<string, string> = { "/users": "admin", "/audit": "admin" };

function signOut(expired: boolean): void {
  setToken(null);
  forgetUser();
  disconnectEvents();
  shell?.stop();
  shell = null;
  const next = location.pathname === "/login" ? "/" : location.pathname + location.search;
  navigate("/login?" + new URLSearchParams({ next, ...(expired ? { expired: "1" } : {}) }).toString(), true);
}

whenUnauthorized(() => {
  if (token()) signOut(true);
});

function buildShell(): NonNullable<typeof shell> {
  const status = h("span", { class: "connection", "data-testid": "connection", title: "Live updates" });
  const badge = h("span", { class: "badge", "data-testid": "alert-badge", hidden: true });
  const reviewBadge = h("span", { class: "badge badge-count", "data-testid": "review-badge", hidden: true });
  const badges: Record<string, HTMLElement> = { "/alerts": badge, "/review": reviewBadge };
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Main" },
    h("ul", {}, menu.map(([path, label]) => h("li", { "data-needs": menuNeeds[path] }, h("a", { href: path, "data-nav": path }, label, badges[path] ?? null)))),
  );
  const toggle = h("button", { type: "button", class: "nav-toggle", "aria-label": "Menu", "aria-expanded": "false" }, "☰");
  toggle.addEventListener("click", () => {
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  nav.addEventListener("click", (event) => {
    if ((event.target as Element).closest("a")) {
      nav.classList.remove("open");
      toggle.setAttribute("aria-expanded", "false");
    }
  });
  const logout = h("button", { type: "button", class: "button button-quiet", "data-testid": "logout" }, "Sign out");
  logout.addEventListener("click", async () => {
    if (!(await mayLeave())) return; // unsaved work on the page: the user stays
    try {
      await api.post("/api/v1/auth/logout");
    } catch {
      // Signed out here either way.
    }
    signOut(false);
  });
  const main = h("main", { id: "main", class: "page", tabindex: "-1" });
  const header = h(
    "header",
    { class: "topbar" },
    toggle,
    h("a", { href: "/", class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Safelynx"),
    status,
    logout,
  );
  replace(app, h("a", { href: "#main", class: "skip-link" }, "Skip to content"), header, h("div", { class: "layout" }, nav, main));
  onConnection((connected) => {
    status.textContent = connected ? "Live" : "Reconnecting…";
    status.classList.toggle("connection-down", !connected);
  });
  const showBadge = () => {
    const count = unreadCount();
    badge.textContent = String(count);
    badge.hidden = count === 0;
  };
  onNotificationsChanged(showBadge);
  showBadge();
  // Strangers waiting to be named: the number, and for screen readers what it counts.
  const stop = onReviewCount((count) => {
    replace(reviewBadge, h("span", { class: "visually-hidden" }, "strangers to review: "), String(count ?? 0));
    reviewBadge.hidden = !count;
  });
  void loadUser();
  return { main, nav, status, badge, stop };
}

// Alerts reach the user on every page, and so do corrections: a name shown
// a moment ago may have been replaced.
onEvent((event) => {
  if (event.type === "SightingsCorrected") {
    const count = Array.isArray(event.payload.sighting_ids) ? event.payload.sighting_ids.length : 0;
    toast(`${count} sighting${count === 1 ? "" : "s"} corrected: the face turned out to be someone already known.`, "info", 8000);
    return;
  }
  if (event.type !== "Alert") return;
  const item = addAlert(event);
  const who = item.profile ? profileName(item.profile) : "someone";
  toast(`${item.reason}: ${who}`, "alert", 10_000);
});

function render(): void {
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.warn("page cleanup failed", error);
    }
    cleanup = undefined;
  }
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  if (path === "/login") {
    shell?.stop();
    shell = null;
    disconnectEvents();
    document.title = "Sign in · Safelynx";
    app.replaceChildren();
    cleanup = loginPage({ root: app, params: {}, query });
    return;
  }
  if (!token()) {
    navigate("/login?" + new URLSearchParams({ next: path + location.search }).toString(), true);
    return;
  }
  if (!shell) shell = buildShell();
  connectEvents();
  const found = match(routes, path);
  for (const link of shell.nav.querySelectorAll<HTMLAnchorElement>("a[data-nav]")) {
    const target = link.dataset.nav!;
    const current = target === "/" ? path === "/" : path === target || path.startsWith(target + "/");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  shell.main.replaceChildren();
  if (!found) {
    document.title = "Not found · Safelynx";
    replace(shell.main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/" }, "Back to the dashboard")));
    return;
  }
  document.title = `${found.route.title} · Safelynx`;
  cleanup = found.route.page({ root: shell.main, params: found.params, query });
}

startRouter(render);
