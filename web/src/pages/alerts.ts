// Alerts: the notifications this browser received (flagged people seen, new
// unknown faces), newest first, with what the camera saw and where to look
// next. Opening the page marks them read; new ones appear at the top.
import { errorText, withToken } from "../api.js";
import { listAllCameras } from "../components/camera-info.js";
import { confirmDialog } from "../components/confirm-dialog.js";
import { faceThumb } from "../components/face-thumb.js";
import { formatRelative, formatTime, h, profileName, replace } from "../dom.js";
import { clearNotifications, markAllRead, notifications, onNotificationsChanged, unreadCount, type Notification } from "../notifications.js";
import type { Cleanup, PageContext } from "../router.js";
import { empty } from "../states.js";
import { toast } from "../toast.js";

// The Alert event carries the whole sighting; the store keeps it as sent.
type AlertSighting = NonNullable<Notification["sighting"]> & { recording_offset_s?: number | null; frame_url?: string | null };

function sentence(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

export function alertsPage({ root }: PageContext): Cleanup {
  let alive = true;
  const fresh = new Set(notifications().filter((n) => !n.read).map((n) => n.id));
  const items = new Map<string, HTMLElement>();
  const cameraNames = new Map<string, string>();

  const markRead = h("button", { type: "button", class: "button", "data-testid": "alerts-mark-read" }, "Mark all read");
  const clear = h("button", { type: "button", class: "button button-quiet", "data-testid": "alerts-clear" }, "Clear");
  const list = h("ol", { class: "alerts-list", "data-testid": "alerts-list", "aria-live": "polite" });
  const area = h("div", {});
  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Alerts"), h("div", { class: "alerts-actions" }, markRead, clear)),
    area,
    h("p", { class: "muted alerts-note" }, "Alerts are kept in this browser (the newest 200), from the moments Safelynx was open in it."),
  );

  function item(n: Notification): HTMLElement {
    const sighting = n.sighting as AlertSighting | null;
    const who = n.profile ? profileName(n.profile) : "Unknown person";
    const picture = n.profile?.thumbnail_url ?? sighting?.snapshot_url ?? null;
    const camera = sighting ? cameraNames.get(sighting.camera_id) : undefined;
    const links: HTMLElement[] = [];
    if (sighting?.snapshot_url)
      links.push(h("a", { href: withToken(sighting.snapshot_url), target: "_blank", rel: "noopener", "data-testid": "alert-snapshot" }, "Snapshot"));
    if (sighting?.frame_url) links.push(h("a", { href: withToken(sighting.frame_url), target: "_blank", rel: "noopener" }, "Full frame"));
    if (sighting?.recording_id) {
      const t = sighting.recording_offset_s;
      const href = `/recordings/${sighting.recording_id}` + (t !== null && t !== undefined ? `?t=${t}` : "");
      links.push(h("a", { href, "data-testid": "alert-recording" }, "Recording at this moment"));
    }
    if (n.profile) links.push(h("a", { href: `/profiles/${n.profile.id}`, "data-testid": "alert-profile" }, "Profile"));
    const isNew = fresh.has(n.id);
    return h(
      "li",
      { class: "card alerts-item" + (isNew ? " alerts-item-new" : "") + (n.profile?.classification === "flagged" ? " alerts-item-flagged" : ""), "data-testid": "alert-item" },
      faceThumb(picture, who, "medium", picture ? `Face of ${who}` : ""),
      h(
        "div",
        { class: "alerts-text" },
        h("p", { class: "alerts-reason" }, h("strong", {}, sentence(n.reason)), isNew ? h("span", { class: "alerts-new" }, "New") : null),
        h(
          "p",
          { class: "alerts-who" },
          n.profile ? h("a", { href: `/profiles/${n.profile.id}` }, who) : h("span", {}, who),
          n.profile ? h("span", { class: `pill pill-${n.profile.classification}` }, n.profile.classification) : null,
        ),
        h(
          "p",
          { class: "muted alerts-when" },
          h("time", { datetime: n.time, title: formatTime(n.time), "data-relative": "" }, formatRelative(n.time)),
          ` · ${formatTime(n.time)}`,
          camera ? ` · ${camera}` : "",
        ),
        links.length ? h("p", { class: "alerts-links" }, links.flatMap((link, i) => (i ? [" · ", link] : [link]))) : null,
      ),
    );
  }

  function render(): void {
    const all = notifications().sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
    markRead.disabled = !all.some((n) => !n.read) && fresh.size === 0;
    clear.disabled = all.length === 0;
    if (all.length === 0) {
      items.clear();
      replace(
        area,
        empty(
          "No alerts. An alert appears here when a flagged person is sighted, and for every new unknown face when “Alert for every new unknown face” is on.",
          h("a", { href: "/settings", class: "button" }, "Notification settings"),
        ),
      );
      return;
    }
    // Existing entries are kept (a focused link stays focused); new ones go on top.
    const next = new Map<string, HTMLElement>();
    for (const n of all) {
      const key = n.id;
      if (next.has(key)) continue;
      next.set(key, items.get(key) ?? item(n));
    }
    items.clear();
    for (const [key, element] of next) items.set(key, element);
    replace(list, [...next.values()]);
    if (!list.isConnected) replace(area, list);
  }

  function markSeen(): void {
    if (!document.hidden && unreadCount() > 0) markAllRead();
  }

  const unsubscribe = onNotificationsChanged(() => {
    for (const n of notifications()) if (!n.read) fresh.add(n.id);
    render();
    markSeen();
  });

  markRead.addEventListener("click", () => {
    fresh.clear();
    items.clear(); // drawn again without the "New" marks
    markAllRead();
    render();
  });
  clear.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: "Clear all alerts?",
      message: "They are removed from this browser. Sightings, snapshots and recordings stay on the server.",
      confirmLabel: "Clear alerts",
      danger: true,
      container: root,
    });
    if (!ok || !alive) return;
    fresh.clear();
    clearNotifications();
    markRead.focus();
  });

  const onVisibility = () => markSeen();
  document.addEventListener("visibilitychange", onVisibility);
  const clock = window.setInterval(() => {
    for (const time of root.querySelectorAll<HTMLTimeElement>("time[data-relative]")) time.textContent = formatRelative(time.dateTime);
  }, 30_000);

  render();
  markSeen();

  // Camera names make the entries clearer; without them the entries still say everything else.
  listAllCameras()
    .then((cameras) => {
      if (!alive) return;
      for (const c of cameras) cameraNames.set(c.id, c.name);
      items.clear();
      render();
    })
    .catch((error: unknown) => {
      if (alive) toast(`Camera names could not be loaded: ${errorText(error)}`, "error");
    });

  return () => {
    alive = false;
    unsubscribe();
    document.removeEventListener("visibilitychange", onVisibility);
    window.clearInterval(clock);
  };
}
