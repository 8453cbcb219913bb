// /audit (admins only): the audit log, newest first, filtered by action
// (one action or a family such as "profile."), actor, object and time, with
// the filters and the page in the URL. Read-only: the server keeps entries
// append-only, so nothing here changes or deletes them. Old and new values
// are shown as pretty-printed JSON text (never parsed as HTML).
import { ApiError, api, type AuditEntry, type Page } from "../api.js";
import { formatTime, h, replace } from "../dom.js";
import { setQuery, type Cleanup, type PageContext } from "../router.js";
import { empty, failed, loading } from "../states.js";
import { pageCount, pageParam, pagerSlot } from "../components/pager.js";
import { rangeFields, validIso } from "../components/time-range.js";

const PER_PAGE = 50;

// The families the server records (docs/API.md), then every single action.
const FAMILIES: Array<[string, string]> = [
  ["auth.", "sign-ins and sign-outs"],
  ["profile.", "profiles"],
  ["camera.", "cameras"],
  ["settings.", "settings"],
  ["token.", "API tokens"],
  ["user.", "users"],
  ["retention.", "automatic deletions"],
];
const ACTIONS = [
  "auth.login", "auth.logout", "auth.login_failed",
  "profile.create", "profile.update", "profile.photos_add", "profile.merge", "profile.delete", "profile.import", "profile.export",
  "camera.create", "camera.update", "camera.delete", "camera.start", "camera.stop",
  "settings.update",
  "token.create", "token.revoke",
  "user.create", "user.update", "user.password_change", "user.delete",
  "retention.delete",
];

interface Filters {
  action: string;
  actor: string;
  objectType: string;
  objectId: string;
  since: string | null;
  until: string | null;
  page: number;
}

function readFilters(query: URLSearchParams): Filters {
  return {
    action: (query.get("action") ?? "").trim(),
    actor: (query.get("actor") ?? "").trim(),
    objectType: (query.get("object_type") ?? "").trim(),
    objectId: (query.get("object_id") ?? "").trim(),
    since: validIso(query.get("since")),
    until: validIso(query.get("until")),
    page: pageParam(query.get("page")),
  };
}

function writeFilters(f: Filters): void {
  const query = new URLSearchParams();
  if (f.action) query.set("action", f.action);
  if (f.actor) query.set("actor", f.actor);
  if (f.objectType) query.set("object_type", f.objectType);
  if (f.objectId) query.set("object_id", f.objectId);
  if (f.since) query.set("since", f.since);
  if (f.until) query.set("until", f.until);
  if (f.page > 1) query.set("page", String(f.page));
  setQuery(query);
}

// A UUID shortened to its first block; other ids (user ids) as they are.
const shortId = (id: string) => (id.length === 36 ? id.slice(0, 8) : id);

function hasValue(value: unknown): boolean {
  return value !== null && value !== undefined;
}

// Pretty-printed JSON as text: a string value stays as it is.
function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

function valuesCell(entry: AuditEntry): HTMLElement | string {
  const before = hasValue(entry.old_value);
  const after = hasValue(entry.new_value);
  if (!before && !after) return h("span", { class: "muted" }, "none");
  const summary = before && after ? "Before and after" : before ? "Old value" : "New value";
  return h(
    "details",
    { class: "audit-values", "data-testid": "audit-values" },
    h("summary", {}, summary),
    before ? h("div", { class: "audit-value" }, h("p", { class: "audit-value-label" }, "Before"), h("pre", {}, valueText(entry.old_value))) : null,
    after ? h("div", { class: "audit-value" }, h("p", { class: "audit-value-label" }, "After"), h("pre", {}, valueText(entry.new_value))) : null,
  );
}

function field(label: string, control: HTMLElement): HTMLElement {
  return h("div", { class: "filter" }, h("label", { for: control.id }, label), control);
}

// The object filter in force, with the button that lifts it.
function objectChip(objectType: string, objectId: string, showAll: () => void): Array<Node | string> {
  const what = [objectType, objectId ? shortId(objectId) : ""].filter(Boolean).join(" ");
  return [
    h("span", { class: "filter-label", id: "audit-object-label" }, "Object"),
    h(
      "span",
      { class: "audit-object-chip" },
      h("span", { title: objectId || undefined }, what),
      h("button", {
        type: "button",
        class: "button button-small",
        "aria-describedby": "audit-object-label",
        "data-testid": "audit-object-clear",
        onclick: () => showAll(),
      }, "Show all objects"),
    ),
  ];
}

// `onObject`: a plain click on an entry's object, to show only its entries.
type ObjectHandler = (type: string, id: string) => void;

function objectCell(entry: AuditEntry, onObject: ObjectHandler): HTMLElement | string {
  if (!entry.object_type) return h("span", { class: "muted" }, "none");
  if (!entry.object_id) return entry.object_type;
  const type = entry.object_type;
  const id = entry.object_id;
  const link = h(
    "a",
    { href: "/audit?" + new URLSearchParams({ object_type: type, object_id: id }).toString(), class: "audit-object", title: id },
    `${type} `,
    h("code", {}, shortId(id)),
    h("span", { class: "visually-hidden" }, ": show only its entries"),
  );
  link.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault(); // filtered here, keeping the other filters
    event.stopPropagation();
    onObject(type, id);
  });
  return link;
}

function auditRow(entry: AuditEntry, onObject: ObjectHandler): HTMLElement {
  const token = entry.token_name ?? (entry.token_id ? shortId(entry.token_id) : null);
  return h(
    "tr",
    { "data-testid": "audit-row", "data-action": entry.action, "data-audit-id": String(entry.id) },
    h("td", { "data-label": "Time", class: "audit-time" }, h("time", { datetime: entry.time }, formatTime(entry.time))),
    h(
      "td",
      { "data-label": "Actor", "data-testid": "audit-actor-cell" },
      entry.actor === "system" ? h("em", {}, "system") : entry.actor || h("span", { class: "muted" }, "unknown"),
      token ? h("span", { class: "audit-token muted" }, ` via token “${token}”`) : null,
    ),
    h("td", { "data-label": "Address", class: "audit-address" }, entry.address ?? h("span", { class: "muted" }, "none")),
    h("td", { "data-label": "Action", "data-testid": "audit-action-cell" }, h("code", { class: "audit-action" }, entry.action)),
    h("td", { "data-label": "Object", class: "audit-object-cell" }, objectCell(entry, onObject)),
    h("td", { "data-label": "Values", class: "audit-values-cell" }, valuesCell(entry)),
  );
}

function auditTable(entries: AuditEntry[], onObject: ObjectHandler): HTMLElement {
  return h(
    "div",
    { class: "table-wrap stack-table-wrap" },
    h(
      "table",
      { class: "audit-table stack-table", "data-testid": "audit-table" },
      h("caption", { class: "visually-hidden" }, "Audit log entries, newest first"),
      h("thead", {}, h("tr", {}, ["Time", "Actor", "Address", "Action", "Object", "Values"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, entries.map((entry) => auditRow(entry, onObject))),
    ),
  );
}

export function auditPage({ root, query }: PageContext): Cleanup {
  const filters = readFilters(query);
  let active = true;
  let loadNumber = 0;
  let typingTimer: number | undefined;

  const count = h("span", { class: "muted", "data-testid": "audit-total" });
  const refresh = h("button", { type: "button", class: "button", "data-testid": "audit-refresh" }, "Refresh");

  // Filters
  const action = h(
    "select",
    { id: "audit-action", "data-testid": "audit-action" },
    h("option", { value: "" }, "All actions"),
    h("optgroup", { label: "Families" }, FAMILIES.map(([value, what]) => h("option", { value }, `${value}* (${what})`))),
    h("optgroup", { label: "Single actions" }, ACTIONS.map((value) => h("option", { value }, value))),
  );
  // An action from the URL that the list does not know (a newer server) stays choosable.
  if (filters.action && !FAMILIES.some(([v]) => v === filters.action) && !ACTIONS.includes(filters.action)) {
    action.append(h("option", { value: filters.action }, filters.action));
  }
  action.value = filters.action;
  const actor = h("input", { type: "text", id: "audit-actor", value: filters.actor, placeholder: "username or system", autocomplete: "off", maxlength: 200, "data-testid": "audit-actor" });
  const range = rangeFields("audit", { from: filters.since, to: filters.until }, (r) => {
    filters.since = r.from;
    filters.until = r.to;
    changed();
  });
  const objectFilter = h("div", { class: "filter audit-object-filter", "data-testid": "audit-object-filter" });
  const toolbar = h(
    "form",
    { class: "toolbar filters", role: "search", "aria-label": "Filter the audit log", onsubmit: (e: Event) => e.preventDefault() },
    field("Action", action),
    field("Actor", actor),
    range.element,
    objectFilter,
  );

  const list = h("div", { class: "audit-results" });
  const pages = pagerSlot(
    "Audit log",
    (n) => {
      filters.page = n;
      writeFilters(filters);
      void load();
    },
    () => root.querySelector("h1"),
  );

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Audit log ", count), refresh),
    h("p", { class: "muted audit-intro" }, "Every change made through Safelynx: who made it, from which address, and the values before and after. Entries cannot be edited or deleted; old ones are removed after the retention period in Settings."),
    toolbar,
    list,
    pages.element,
  );

  function showObjectFilter(): void {
    if (!filters.objectType && !filters.objectId) {
      objectFilter.hidden = true;
      replace(objectFilter);
      return;
    }
    objectFilter.hidden = false;
    replace(
      objectFilter,
      objectChip(filters.objectType, filters.objectId, () => {
        filters.objectType = "";
        filters.objectId = "";
        changed();
        action.focus();
      }),
    );
  }

  function showObject(type: string, id: string): void {
    filters.objectType = type;
    filters.objectId = id;
    changed();
    root.querySelector("h1")?.scrollIntoView({ block: "start" });
  }

  function isFiltered(): boolean {
    return Boolean(filters.action || filters.actor || filters.objectType || filters.objectId || filters.since || filters.until);
  }

  function resetFilters(): void {
    filters.action = "";
    filters.actor = "";
    filters.objectType = "";
    filters.objectId = "";
    filters.since = null;
    filters.until = null;
    action.value = "";
    actor.value = "";
    range.set({ from: null, to: null });
    changed();
    action.focus();
  }

  function render(page: Page<AuditEntry>): void {
    count.textContent = `(${page.total})`;
    if (page.items.length === 0) {
      replace(
        list,
        isFiltered()
          ? empty("No entries match these filters.", h("button", { type: "button", class: "button", onclick: () => resetFilters() }, "Clear filters"))
          : empty("The audit log is empty."),
      );
    } else {
      replace(list, auditTable(page.items, showObject));
    }
    pages.show(page.page, page.per_page, page.total);
  }

  async function load(): Promise<void> {
    const number = ++loadNumber;
    showObjectFilter();
    list.setAttribute("aria-busy", "true");
    if (!list.querySelector("table")) replace(list, loading("Loading the audit log…"));
    else list.classList.add("is-loading");
    try {
      const page = await api.get<Page<AuditEntry>>("/api/v1/audit", {
        action: filters.action,
        actor: filters.actor,
        object_type: filters.objectType,
        object_id: filters.objectId,
        since: filters.since,
        until: filters.until,
        page: filters.page,
        per_page: PER_PAGE,
      });
      if (!active || number !== loadNumber) return;
      // Past the last page (an old link, or entries removed by the retention): the last one.
      const last = pageCount(page.total, PER_PAGE);
      if (filters.page > last && page.total > 0) {
        filters.page = last;
        writeFilters(filters);
        return load();
      }
      render(page);
    } catch (error) {
      if (!active || number !== loadNumber) return;
      count.textContent = "";
      pages.clear();
      if (error instanceof ApiError && error.status === 403) replace(list, empty("Only administrators may read the audit log."));
      else replace(list, failed(error, () => void load()));
    } finally {
      if (number === loadNumber) {
        list.removeAttribute("aria-busy");
        list.classList.remove("is-loading");
      }
    }
  }

  function changed(): void {
    filters.page = 1;
    writeFilters(filters);
    void load();
  }

  action.addEventListener("change", () => {
    filters.action = action.value;
    changed();
  });
  actor.addEventListener("input", () => {
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => {
      filters.actor = actor.value.trim();
      changed();
    }, 350);
  });
  refresh.addEventListener("click", () => void load());

  void load();
  return () => {
    active = false;
    window.clearTimeout(typingTimer);
  };
}
