// Settings: the run-time settings (GET/PUT /api/v1/settings) rendered from
// what the server sends, so a setting added later still shows, with labels,
// ranges and help from docs/API.md for the known ones; and the API tokens
// (Home Assistant, Prometheus, scripts).
import { ApiError, api, errorText, type Page } from "../api.js";
import { confirmDialog } from "../components/confirm-dialog.js";
import { loadFailed } from "../components/load-error.js";
import { passwordSection } from "../components/password-form.js";
import { formatBytes, formatRelative, formatTime, h, replace } from "../dom.js";
import type { Cleanup, PageContext } from "../router.js";
import { empty, loading } from "../states.js";
import { toast } from "../toast.js";

type SettingValue = number | boolean | string;
type Settings = Record<string, Record<string, SettingValue>>;

interface FieldInfo {
  label: string;
  help?: string;
  integer?: boolean;
  min?: number;
  max?: number;
  step?: number;
  unit?: string;
  // Shown in another unit than the API's (bytes as GB).
  scale?: { factor: number; unit: string };
}

const groups: Record<string, { title: string; help: string }> = {
  detection: { title: "Detection", help: "Which faces the cameras and enrolment consider at all." },
  recognition: { title: "Recognition", help: "When a face counts as a known person, and how often a sighting is recorded." },
  recording: { title: "Recording", help: "Video kept around each sighting." },
  storage: { title: "Storage", help: "How much disk Safelynx may use for its database, snapshots and recordings." },
  notifications: { title: "Notifications", help: "Which sightings raise an alert (shown on every page and under Alerts)." },
  retention: { title: "Retention of personal data", help: "Profiles not seen for this long are deleted with their photos, face data and sightings, checked hourly. Each deletion is in the audit log." },
  audit: { title: "Audit log", help: "How long the record of every change (who, what, when, from where) is kept." },
};

const fields: Record<string, FieldInfo> = {
  "detection.min_score": { label: "Minimum detector score", min: 0, max: 1, step: 0.01, help: "Faces the detector is less sure of are ignored. Between 0 and 1 (exclusive); default 0.5." },
  "detection.min_face_size": { label: "Minimum face size", integer: true, min: 16, max: 4096, unit: "px", help: "Smallest face side in pixels the cameras use: 16 to 4096; default 40." },
  "recognition.match_threshold": { label: "Match threshold", min: 0, max: 2, step: 0.01, help: "Largest descriptor distance that counts as the same person: lower is stricter (fewer mix-ups, more duplicate profiles). Above 0, at most 2; default 0.6." },
  "recognition.sighting_cooldown_s": { label: "Sighting cooldown", integer: true, min: 0, max: 86400, unit: "s", help: "One sighting per person per camera in this many seconds: 0 to 86400; default 30." },
  "recording.pre_buffer_s": { label: "Video before a sighting", integer: true, min: 0, max: 60, unit: "s", help: "0 to 60 seconds; default 5." },
  "recording.post_buffer_s": { label: "Video after the last sighting", integer: true, min: 0, max: 600, unit: "s", help: "0 to 600 seconds; default 10." },
  "recording.max_segment_s": { label: "Longest recording file", integer: true, min: 10, max: 3600, unit: "s", help: "Longer recordings are split: 10 to 3600 seconds; default 300." },
  "storage.quota_bytes": { label: "Storage quota", integer: true, min: 104857600, scale: { factor: 1e9, unit: "GB" }, help: "Disk budget for the database and media; a warning at 90%. At least 0.105 GB (100 MiB)." },
  "storage.auto_cleanup": { label: "Clean up automatically", help: "At 95% of the quota, delete the oldest finished recordings, then the oldest snapshots, until use is below 80%." },
  "storage.min_retention_days": { label: "Minimum retention", integer: true, min: 0, max: 3650, unit: "days", help: "The clean-up never deletes a recording or snapshot younger than this: 0 to 3650 days; default 1." },
  "notifications.on_flagged": { label: "Alert when a flagged person is seen", help: "An alert each time a profile classified as flagged is sighted." },
  "notifications.on_unknown": { label: "Alert for every new unknown face", help: "An alert whenever a camera sees someone it has never seen before. Can be frequent in busy places." },
  "retention.unknown_profiles_days": { label: "Delete unknown people after", integer: true, min: 0, max: 36500, unit: "days", help: "An unknown profile not seen for this many days is deleted. 0 keeps them; default 30." },
  "retention.known_profiles_days": { label: "Delete known and trusted people after", integer: true, min: 0, max: 36500, unit: "days", help: "The same for known and trusted profiles. 0 (the default) keeps them. Flagged profiles are never deleted automatically." },
  "audit.retention_days": { label: "Keep audit entries for", integer: true, min: 0, max: 36500, unit: "days", help: "Older entries are deleted. 0 keeps them forever; default 365." },
};

interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

// The server sends keys sorted by name: show them in the documented order,
// then any the documentation does not know yet.
function ordered(keys: string[], preferred: string[]): string[] {
  return [...preferred.filter((k) => keys.includes(k)), ...keys.filter((k) => !preferred.includes(k))];
}

function humanize(key: string): string {
  const text = key.replace(/_/g, " ");
  return text[0]!.toUpperCase() + text.slice(1);
}

interface Control {
  key: string; // "detection.min_score"
  group: string;
  name: string;
  input: HTMLInputElement;
  error: HTMLElement;
  initial: string | boolean;
  kind: "number" | "boolean" | "string";
  info: FieldInfo | undefined;
}

function shownNumber(value: number, info: FieldInfo | undefined): string {
  if (info?.scale) return String(Math.round((value / info.scale.factor) * 1000) / 1000);
  return String(value);
}

function settingsSection(isAlive: () => boolean): HTMLElement {
  const body = h("div", {}, loading("Loading settings…"));
  const section = h(
    "section",
    { class: "settings-section", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title", class: "visually-hidden" }, "Run-time settings"),
    body,
  );
  let controls: Control[] = [];

  function changed(): Control[] {
    return controls.filter((c) => (c.kind === "boolean" ? c.input.checked !== c.initial : c.input.value !== c.initial));
  }

  function render(settings: Settings): void {
    controls = [];
    const status = h("span", { class: "muted settings-dirty", role: "status" });
    const save = h("button", { type: "submit", class: "button button-primary", "data-testid": "settings-save", "data-needs": "admin", disabled: true }, "Save");
    const discard = h("button", { type: "button", class: "button", "data-testid": "settings-discard", "data-needs": "admin", disabled: true }, "Discard changes");
    const formError = h("div", { class: "form-error settings-form-error", role: "alert", "data-testid": "settings-error" });
    const fieldsets = ordered(Object.keys(settings), Object.keys(groups)).map((group) => {
      const meta = groups[group];
      const values = settings[group] ?? {};
      const known = Object.keys(fields).filter((k) => k.startsWith(group + ".")).map((k) => k.slice(group.length + 1));
      return h(
        "fieldset",
        { class: "card settings-group", "data-group": group },
        h("legend", {}, meta?.title ?? humanize(group)),
        meta ? h("p", { class: "muted settings-group-help" }, meta.help) : null,
        ordered(Object.keys(values), known).map((name) => field(group, name, values[name]!)),
      );
    });

    function field(group: string, name: string, value: SettingValue): HTMLElement {
      const key = `${group}.${name}`;
      const info = fields[key];
      const id = `setting-${group}-${name}`;
      const error = h("p", { id: id + "-error", class: "field-error", "data-testid": `setting-error-${key}` });
      const help = info?.help ? h("p", { id: id + "-help", class: "muted settings-help" }, info.help) : null;
      const described = [info?.help ? id + "-help" : "", id + "-error"].filter(Boolean).join(" ");
      const label = info?.label ?? humanize(name);
      let input: HTMLInputElement;
      let control: Control;
      if (typeof value === "boolean") {
        input = h("input", { id, type: "checkbox", checked: value, "aria-describedby": described, "data-setting": key });
        control = { key, group, name, input, error, initial: value, kind: "boolean", info };
        controls.push(control);
        return h("div", { class: "settings-field settings-check" }, h("div", { class: "settings-check-row" }, input, h("label", { for: id }, label)), help, error);
      }
      if (typeof value === "number") {
        const shown = shownNumber(value, info);
        const unit = info?.scale?.unit ?? info?.unit;
        input = h("input", {
          id,
          type: "number",
          inputmode: info?.integer && !info.scale ? "numeric" : "decimal",
          step: info?.integer && !info.scale ? 1 : info?.step ?? "any",
          min: info?.scale ? undefined : info?.min,
          max: info?.scale ? undefined : info?.max,
          value: shown,
          "aria-describedby": described,
          "data-setting": key,
        });
        control = { key, group, name, input, error, initial: shown, kind: "number", info };
        controls.push(control);
        return h(
          "div",
          { class: "settings-field" },
          h("label", { for: id }, label, unit ? h("span", { class: "muted settings-unit" }, ` (${unit})`) : null),
          h("div", { class: "settings-number" }, input, info?.scale ? h("span", { class: "muted" }, `now ${formatBytes(value)}`) : null),
          help,
          error,
        );
      }
      input = h("input", { id, type: "text", value: String(value), "aria-describedby": described, "data-setting": key });
      control = { key, group, name, input, error, initial: String(value), kind: "string", info };
      controls.push(control);
      return h("div", { class: "settings-field" }, h("label", { for: id }, label), input, help, error);
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
      render(settings);
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
        const scale = control.info?.scale;
        const extra = scale ? ` (in bytes: at least ${shownNumber(control.info?.min ?? 0, control.info)} ${scale.unit} here)` : "";
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
        if (c.kind === "boolean") value = c.input.checked;
        else if (c.kind === "string") value = c.input.value;
        else {
          const text = c.input.value.trim();
          const number = Number(text);
          if (text === "" || !Number.isFinite(number)) {
            c.error.textContent = "Enter a number.";
            c.input.setAttribute("aria-invalid", "true");
            invalid ??= c;
            continue;
          }
          value = c.info?.scale ? Math.round(number * c.info.scale.factor) : number;
          if (c.info?.integer && !Number.isInteger(value)) {
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
        render(saved);
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
      const settings = await api.get<Settings>("/api/v1/settings");
      if (!isAlive()) return;
      render(settings);
    } catch (error) {
      if (!isAlive()) return;
      replace(body, loadFailed("the settings", error, () => void load()));
    }
  }

  void load();
  return section;
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
  replace(root, h("div", { class: "page-header" }, h("h1", {}, "Settings")), settingsSection(isAlive), passwordSection(isAlive), tokensSection(root, isAlive));
  return () => {
    alive = false;
  };
}
