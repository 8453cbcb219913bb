// Who is signed in and what their token may do (GET /api/v1/users/me). The
// role is set on <body data-role>, and elements marked data-needs="operator"
// or "admin" are hidden by CSS for lesser roles: the server refuses such
// requests anyway (403), this only keeps the UI from offering them.
import { api, type Me, type Role } from "./api.js";

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
let me: Me | null = null;
const listeners: Array<(me: Me | null) => void> = [];

export function currentUser(): Me | null {
  return me;
}

// True when the signed-in request may do what `needed` may. Before the user
// is known nothing is offered beyond reading.
export function may(needed: Role): boolean {
  return me !== null && rank[me.effective_role] >= rank[needed];
}

export function onUserChanged(listener: (me: Me | null) => void): void {
  listeners.push(listener);
}

function publish(value: Me | null): void {
  me = value;
  if (value) document.body.dataset.role = value.effective_role;
  else delete document.body.dataset.role;
  for (const listener of listeners) listener(value);
}

export async function loadUser(): Promise<void> {
  try {
    publish(await api.get<Me>("/api/v1/users/me"));
  } catch {
    // A 401 signs out (api.ts); anything else leaves the UI read-only.
    publish(null);
  }
}

export function forgetUser(): void {
  publish(null);
}
