// Settings: the run-time settings (GET/PUT /api/v1/settings), each with the
// label, range, default and help the server describes it with
// (GET /api/v1/settings/schema), so nothing about a setting is repeated
// here; and the API tokens (Home Assistant, Prometheus, scripts).
import { ApiError, api, errorText, type Page } from "../api.js";
import { confirmDialog, confirmLeave } from "../components/confirm-dialog.js";
import { loadFailed } from "../components/load-error.js";
import { passwordSection } from "../components/password-form.js";
import { formatBytes, formatRelative, formatTime, h, replace } from "../dom.js";
import { guardLeaving, type Cleanup, type PageContext } from "../router.js";
import { empty, loading } from "../states.js";
import { toast } from "../toast.js";

type SettingValue = number | boolean;
type Settings = Record<string, Record<string, SettingValue>>;

// One entry of GET /api/v1/settings/schema (docs/API.md).
interface SettingSchema {
  key: string; // "detection.min_score"
  type: "number" | "integer" | "boolean";
  label: string;
  help: string;
  unit: string; // "px", "s", "days", "bytes" or ""
  default: SettingValue;
  minimum?: number;
  maximum?: number; // absent: no upper bound
  exclusive_minimum?: boolean;
  exclusive_maximum?: boolean;
}

// The sections' titles: how the page groups the settings.
const groups: Record<string, { title: string; help: string }> = {
  detection: { title: "Detection", help: "Which faces the cameras and enrolment consider at all." },
  recognition: { title: "Recognition", help: "When a face counts as a known person, and how often a sighting is recorded." },
  recording: { title: "Recording", help: "Video kept around each sighting." },
  storage: { title: "Storage", help: "How much disk Safelynx may use for its database, snapshots and recordings." },
  notifications: { title: "Notifications", help: "Which sightings raise an alert (shown on every page and under Alerts)." },
  retention: { title: "Retention of personal data", help: "Profiles not seen for this long are deleted with their photos, face data and sightings, checked hourly. Each deletion is in the audit log." },
  audit: { title: "Audit log", help: "How long the record of every change (who, what, when, from where) is kept." },
};

interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

function capitalized(text: string): string {
  return text[0]!.toUpperCase() + text.slice(1);
}

function humanize(key: string): string {
  return capitalized(key.replace(/_/g, " "));
}

// Bytes are shown and typed in GB.
const gigabytes = 1e9;

interface Control {
  key: string; // "detection.min_score"
  group: string;
  name: string;
  input: HTMLInputElement;
  error: HTMLElement;
  initial: string | boolean;
  schema: SettingSchema;
}

function inGigabytes(schema: SettingSchema): boolean {
  return schema.unit === "bytes";
}

function shownNumber(value: number, schema: SettingSchema): string {
  return inGigabytes(schema) ? String(Math.round((value / gigabytes) * 1000) / 1000) : String(value);
}

// A value with the unit the field shows: "0.105 GB", "40 px".
function withUnit(value: number, schema: SettingSchema): string {
  if (inGigabytes(schema)) return `${shownNumber(value, schema)} GB`;
  return schema.unit ? `${value} ${schema.unit}` : String(value);
}

// "16 to 4096 px", "between 0 and 1 (exclusive)", "above 0, at most 2", "at least 0.105 GB".
function rangeText(schema: SettingSchema): string {
  const { minimum: low, maximum: high } = schema;
  if (low === undefined) return "";
  if (high === undefined) return `${schema.exclusive_minimum ? "above" : "at least"} ${withUnit(low, schema)}`;
  const [from, to] = [shownNumber(low, schema), withUnit(high, schema)];
  if (!schema.exclusive_minimum) return `${from} to ${to}`;
  return schema.exclusive_maximum ? `between ${from} and ${to} (exclusive)` : `above ${from}, at most ${to}`;
}

// The server's help, then the range and the default.
function helpText(schema: SettingSchema): string {
  if (typeof schema.default === "boolean") return `${schema.help} ${schema.default ? "On" : "Off"} by default.`;
  const facts = [rangeText(schema), `default ${withUnit(schema.default, schema)}`].filter(Boolean).join("; ");
  return `${schema.help} ${capitalized(facts)}.`;
}

// `unsaved`: whether the form holds changes not saved yet.
function settingsSection(isAlive: () => boolean): { element: HTMLElement; unsaved: () => boolean } {
  const body = h("div", {}, loading("Loading settings…"));
  const section = h(
    "section",
    { class: "settings-section", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title", class: "visually-hidden" }, "Run-time settings"),
    body,
  );
  let controls: Control[] = [];

  function changed(): Control[] {
    return controls.filter((c) => (c.schema.type === "boolean" ? c.input.checked !== c.initial : c.input.value !== c.initial));
  }

  function render(settings: Settings, schema: SettingSchema[]): void {
    controls = [];
    const status = h("span", { class: "muted settings-dirty", role: "status" });
    const save = h("button", { type: "submit", class: "button button-primary", "data-testid": "settings-save", "data-needs": "admin", disabled: true }, "Save");
    const discard = h("button", { type: "button", class: "button", "data-testid": "settings-discard", "data-needs": "admin", disabled: true }, "Discard changes");
    const formError = h("div", { class: "form-error settings-form-error", role: "alert", "data-testid": "settings-error" });
    const sections = [...new Set(schema.map((s) => s.key.split(".")[0]!))];
    const fieldsets = sections.map((group) => {
      const meta = groups[group];
      return h(
        "fieldset",
        { class: "card settings-group", "data-group": group },
        h("legend", {}, meta?.title ?? humanize(group)),
        meta ? h("p", { class: "muted settings-group-help" }, meta.help) : null,
        schema.filter((s) => s.key.startsWith(group + ".")).map(field),
      );
    });

    function field(setting: SettingSchema): HTMLElement {
      const key = setting.key;
      const [group, name] = key.split(".") as [string, string];
      const value = settings[group]?.[name] ?? setting.default;
      const id = `setting-${group}-${name}`;
      const error = h("p", { id: id + "-error", class: "field-error", "data-testid": `setting-error-${key}` });
      const help = h("p", { id: id + "-help", class: "muted settings-help", "data-testid": `setting-help-${key}` }, helpText(setting));
      const described = `${id}-help ${id}-error`;
      let input: HTMLInputElement;
      if (typeof value === "boolean") {
        input = h("input", { id, type: "checkbox", checked: value, "aria-describedby": described, "data-setting": key });
        controls.push({ key, group, name, input, error, initial: value, schema: setting });
        return h("div", { class: "settings-field settings-check" }, h("div", { class: "settings-check-row" }, input, h("label", { for: id }, setting.label)), help, error);
      }
      const shown = shownNumber(value, setting);
      const whole = setting.type === "integer" && !inGigabytes(setting);
      const unit = inGigabytes(setting) ? "GB" : setting.unit;
      input = h("input", {
        id,
        type: "number",
        inputmode: whole ? "numeric" : "decimal",
        step: whole ? 1 : setting.type === "number" ? 0.01 : "any",
        min: inGigabytes(setting) ? undefined : setting.minimum,
        max: inGigabytes(setting) ? undefined : setting.maximum,
        value: shown,
        "aria-describedby": described,
        "data-setting": key,
      });
      controls.push({ key, group, name, input, error, initial: shown, schema: setting });
      return h(
        "div",
        { class: "settings-field" },
        h("label", { for: id }, setting.label, unit ? h("span", { class: "muted settings-unit" }, ` (${unit})`) : null),
        h("div", { class: "settings-number" }, input, inGigabytes(setting) ? h("span", { class: "muted" }, `now ${formatBytes(value)}`) : null),
        help,
        error,
      );
    }

    const form = h(
      "form",
      { class: "settings-form", novalidate: true, "data-testid": "settings-form" },
      h("div", { class: "settings-groups" }, fieldsets),
      formError,
      h("div", { class: "settings-actions" }, save, discard, status),
      h("p", { class: "muted settings-note" }, "A setting also given in the server's config file or environment goes back to that value when the server restarts."),
    );

    const clearErrors = () => {
      formError.replaceChildren();
      for (const c of controls) {
        c.error.textContent = "";
        c.input.removeAttribute("aria-invalid");
      }
    };
    const sync = () => {
      const dirty = changed().length;
      save.disabled = dirty === 0;
      discard.disabled = dirty === 0;
      status.textContent = dirty ? `${dirty} unsaved change${dirty === 1 ? "" : "s"}` : "";
    };
    form.addEventListener("input", sync);
    form.addEventListener("change", sync);
    discard.addEventListener("click", () => {
      render(settings, schema);
      toast("Changes discarded.", "info", 3000);
    });

    // Problems the server names ("detection.min_score must be in (0, 1); ...")
    // go next to their fields; anything else above the buttons.
    const showProblems = (message: string): void => {
      const others: string[] = [];
      let first: Control | null = null;
      for (const part of message.split(/;\s+(?=[a-z_]+\.[a-z_]+)/)) {
        const match = /^([a-z_]+\.[a-z_]+):?\s+(.*)$/s.exec(part.trim());
        const control = match ? controls.find((c) => c.key === match[1]) : undefined;
        if (!control || !match) {
          others.push(part.trim());
          continue;
        }
        // The server counts bytes; this field shows GB.
        const extra = inGigabytes(control.schema) ? ` (in bytes: ${rangeText(control.schema)} here)` : "";
        control.error.textContent = `${match[2]}${extra}`;
        control.input.setAttribute("aria-invalid", "true");
        first ??= control;
      }
      const count = message.split(/;\s+(?=[a-z_]+\.[a-z_]+)/).length;
      replace(
        formError,
        h("p", {}, `Not saved: ${count === 1 ? "a setting is" : `${count} settings are`} not valid. Nothing was changed.`),
        others.length ? h("ul", {}, others.map((o) => h("li", {}, o))) : null,
      );
      first?.input.focus();
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors();
      const body: Record<string, Record<string, SettingValue>> = {};
      let invalid: Control | null = null;
      for (const c of changed()) {
        let value: SettingValue;
        if (c.schema.type === "boolean") value = c.input.checked;
        else {
          const text = c.input.value.trim();
          const number = Number(text);
          if (text === "" || !Number.isFinite(number)) {
            c.error.textContent = "Enter a number.";
            c.input.setAttribute("aria-invalid", "true");
            invalid ??= c;
            continue;
          }
          value = inGigabytes(c.schema) ? Math.round(number * gigabytes) : number;
          if (c.schema.type === "integer" && !Number.isInteger(value)) {
            c.error.textContent = "Enter a whole number.";
            c.input.setAttribute("aria-invalid", "true");
            invalid ??= c;
            continue;
          }
        }
        (body[c.group] ??= {})[c.name] = value;
      }
      if (invalid) {
        invalid.input.focus();
        return;
      }
      if (Object.keys(body).length === 0) return;
      save.disabled = true;
      save.textContent = "Saving…";
      try {
        const saved = await api.put<Settings>("/api/v1/settings", body);
        if (!isAlive()) return;
        render(saved, schema);
        toast("Settings saved.", "success");
      } catch (error) {
        if (!isAlive()) return;
        save.textContent = "Save";
        sync();
        if (error instanceof ApiError && (error.code === "invalid_settings" || error.code === "invalid_field")) showProblems(error.message);
        else replace(formError, h("p", {}, `Could not save the settings: ${errorText(error)}`));
      }
    });

    replace(body, form);
    sync();
  }

  async function load(): Promise<void> {
    replace(body, loading("Loading settings…"));
    try {
      const [settings, described] = await Promise.all([
        api.get<Settings>("/api/v1/settings"),
        api.get<{ settings: SettingSchema[] }>("/api/v1/settings/schema"),
      ]);
      if (!isAlive()) return;
      render(settings, described.settings);
    } catch (error) {
      if (!isAlive()) return;
      replace(body, loadFailed("the settings", error, () => void load()));
    }
  }

  void load();
  return { element: section, unsaved: () => changed().length > 0 };
}

function tokensSection(root: HTMLElement, isAlive: () => boolean): HTMLElement {
  const list = h("div", {}, loading("Loading tokens…"));
  const name = h("input", { id: "token-name", maxlength: 100, required: true, placeholder: "e.g. home-assistant", autocomplete: "off" });
  const expires = h("input", { id: "token-expires", type: "date", "aria-describedby": "token-expires-help" });
  const nameError = h("p", { id: "token-name-error", class: "field-error", "data-testid": "token-error" });
  name.setAttribute("aria-describedby", "token-name-error");
  const create = h("button", { type: "submit", class: "button button-primary", "data-testid": "token-create" }, "Create token");
  const secret = h("div", { class: "notice settings-secret", "data-testid": "token-secret", hidden: true });
  const form = h(
    "form",
    { class: "settings-token-form", novalidate: true },
    h("div", { class: "settings-token-fields" }, h("div", {}, h("label", { for: "token-name" }, "Token name"), name), h("div", {}, h("label", { for: "token-expires" }, "Expires (optional)"), expires)),
    h("p", { id: "token-expires-help", class: "muted settings-help" }, "Leave empty for a token that works until you revoke it."),
    nameError,
    create,
  );
  const section = h(
    "section",
    { class: "card settings-tokens", "aria-labelledby": "tokens-title", "data-testid": "api-tokens" },
    h("h2", { id: "tokens-title" }, "API tokens"),
    h(
      "p",
      { class: "muted" },
      "For Home Assistant, Prometheus and scripts: they send the token as ",
      h("code", {}, "Authorization: Bearer <token>"),
      ". Sign-in sessions are not listed here.",
    ),
    secret,
    list,
    h("h3", {}, "New token"),
    form,
  );

  function showSecret(token: ApiToken & { token: string }): void {
    const value = h("input", { id: "token-secret-value", readonly: true, value: token.token, class: "settings-secret-value", spellcheck: "false" });
    const copy = h("button", { type: "button", class: "button button-primary", "data-testid": "token-copy" }, "Copy");
    const done = h("button", { type: "button", class: "button" }, "Done");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(token.token);
        toast("Token copied to the clipboard.", "success", 3000);
      } catch {
        value.select();
        toast("Copying is not allowed here: the token is selected, press Ctrl+C (⌘C) to copy it.", "info");
      }
    });
    done.addEventListener("click", () => {
      secret.hidden = true;
      secret.replaceChildren();
      name.focus();
    });
    replace(
      secret,
      h("p", {}, h("strong", {}, `Token “${token.name}” created. `), "Copy it now: it is shown only this once."),
      h("label", { for: "token-secret-value" }, "Token"),
      h("div", { class: "settings-secret-row" }, value, copy, done),
    );
    secret.hidden = false;
    value.focus();
    value.select();
  }

  async function revoke(token: ApiToken): Promise<void> {
    const ok = await confirmDialog({
      title: `Revoke token “${token.name}”?`,
      message: "Anything using it (Home Assistant, Prometheus, scripts) can no longer reach Safelynx.",
      confirmLabel: "Revoke",
      danger: true,
      container: root,
    });
    if (!ok || !isAlive()) return;
    try {
      await api.del(`/api/v1/auth/tokens/${token.id}`);
      toast(`Token “${token.name}” revoked.`, "success");
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) toast(`Could not revoke “${token.name}”: ${errorText(error)}`, "error");
    }
    if (isAlive()) await load();
    name.focus();
  }

  function when(iso: string | null, none: string): HTMLElement {
    return iso ? h("time", { datetime: iso, title: formatTime(iso) }, formatRelative(iso)) : h("span", { class: "muted" }, none);
  }

  function render(tokens: ApiToken[]): void {
    if (tokens.length === 0) {
      replace(list, empty("No API tokens yet."));
      return;
    }
    const now = Date.now();
    replace(
      list,
      h(
        "div",
        { class: "table-wrap stack-table-wrap" },
        h(
          "table",
          { class: "settings-token-table stack-table" },
          h("thead", {}, h("tr", {}, ["Name", "Created", "Last used", "Expires", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            tokens.map((t) => {
              const expired = t.expires_at !== null && new Date(t.expires_at).getTime() <= now;
              return h(
                "tr",
                { "data-testid": "token-row", "data-token-id": t.id },
                h("td", { "data-label": "Name" }, h("strong", {}, t.name)),
                h("td", { "data-label": "Created" }, when(t.created_at, "")),
                h("td", { "data-label": "Last used" }, when(t.last_used_at, "never")),
                h("td", { "data-label": "Expires" }, t.expires_at ? h("span", { class: expired ? "status-error" : "", title: formatTime(t.expires_at) }, expired ? "expired" : formatTime(t.expires_at)) : h("span", { class: "muted" }, "never")),
                h(
                  "td",
                  { class: "settings-token-actions stack-table-actions" },
                  h("button", { type: "button", class: "button button-quiet", "data-testid": "token-revoke", "aria-label": `Revoke ${t.name}`, onclick: () => void revoke(t) }, "Revoke"),
                ),
              );
            }),
          ),
        ),
      ),
    );
  }

  let loaded = false;
  async function load(): Promise<void> {
    if (!loaded) replace(list, loading("Loading tokens…"));
    try {
      const page = await api.get<Page<ApiToken>>("/api/v1/auth/tokens");
      if (!isAlive()) return;
      loaded = true;
      render(page.items);
    } catch (error) {
      if (!isAlive()) return;
      replace(list, loadFailed("the API tokens", error, () => void load()));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    nameError.textContent = "";
    name.removeAttribute("aria-invalid");
    const tokenName = name.value.trim();
    if (!tokenName) {
      nameError.textContent = "Enter a name that says what will use the token.";
      name.setAttribute("aria-invalid", "true");
      name.focus();
      return;
    }
    // The end of the chosen day, in this browser's time zone.
    const expiresAt = expires.value ? new Date(`${expires.value}T23:59:59`).toISOString() : null;
    create.disabled = true;
    try {
      const token = await api.post<ApiToken & { token: string }>("/api/v1/auth/tokens", { name: tokenName, expires_at: expiresAt });
      if (!isAlive()) return;
      name.value = "";
      expires.value = "";
      await load();
      showSecret(token);
    } catch (error) {
      if (!isAlive()) return;
      nameError.textContent = errorText(error);
      name.setAttribute("aria-invalid", "true");
    } finally {
      create.disabled = false;
    }
  });

  void load();
  return section;
}

export function settingsPage({ root }: PageContext): Cleanup {
  let alive = true;
  const isAlive = () => alive;
  const settings = settingsSection(isAlive);
  replace(root, h("div", { class: "page-header" }, h("h1", {}, "Settings")), settings.element, passwordSection(isAlive), tokensSection(root, isAlive));
  // Changed settings are not dropped without asking; only admins can save them.
  const releaseGuard = guardLeaving({
    unsaved: () => alive && document.body.dataset.role === "admin" && settings.unsaved(),
    confirm: () => confirmLeave("Your changes to the settings", root),
  });
  return () => {
    alive = false;
    releaseGuard();
  };
}
