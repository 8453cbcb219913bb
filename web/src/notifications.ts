// Alerts from the server (flagged people, new strangers) kept in this
// browser: the newest 200, with a count of unread ones for the menu.
import type { ServerEvent } from "./events.js";

const KEY = "safelynx.notifications";
const MAX = 200;

export interface Notification {
  id: string;
  reason: string;
  time: string;
  profile: { id: string; name: string | null; classification: string; thumbnail_url?: string | null } | null;
  sighting: { id: string; camera_id: string; time: string; snapshot_url?: string | null; recording_id?: string | null } | null;
  read: boolean;
}

type Listener = () => void;
const listeners = new Set<Listener>();

export function notifications(): Notification[] {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? "[]") as Notification[];
  } catch {
    return [];
  }
}

function save(list: Notification[]): void {
  localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
  for (const listener of listeners) listener();
}

export function unreadCount(): number {
  return notifications().filter((n) => !n.read).length;
}

export function addAlert(event: ServerEvent): Notification {
  const payload = event.payload as { reason?: string; profile?: Notification["profile"]; sighting?: Notification["sighting"] };
  const item: Notification = {
    id: (payload.sighting?.id ?? payload.profile?.id ?? "") + ":" + event.timestamp,
    reason: payload.reason ?? "alert",
    time: event.timestamp,
    profile: payload.profile ?? null,
    sighting: payload.sighting ?? null,
    read: false,
  };
  save([item, ...notifications()]);
  return item;
}

export function markAllRead(): void {
  save(notifications().map((n) => ({ ...n, read: true })));
}

export function clearNotifications(): void {
  save([]);
}

export function onNotificationsChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
