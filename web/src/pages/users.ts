// Users (admins only): who may sign in and with which role, password resets
// and deletion. The server enforces the rules (the last admin stays, the
// password policy); this page shows its messages.
import { ApiError, api, errorText, type Page, type Role, type User } from "../api.js";
import { confirmDialog } from "../components/confirm-dialog.js";
import { loadFailed } from "../components/load-error.js";
import { openModal } from "../components/modal-dialog.js";
import { formatTime, h, replace } from "../dom.js";
import type { Cleanup, PageContext } from "../router.js";
import { currentUser } from "../session.js";
import { empty, loading } from "../states.js";
import { toast } from "../toast.js";

const roles: Array<[Role, string]> = [
  ["viewer", "Viewer: reads everything, changes nothing"],
  ["operator", "Operator: also profiles, cameras, recordings"],
  ["admin", "Admin: also settings and users"],
];

function roleSelect(id: string, value: Role, label: string): HTMLSelectElement {
  const select = h("select", { id, "aria-label": label }, roles.map(([role, text]) => h("option", { value: role, title: text }, role)));
  select.value = value;
  return select;
}

export function usersPage({ root }: PageContext): Cleanup {
  let alive = true;
  const list = h("div", {}, loading("Loading users…"));
  const username = h("input", { id: "user-name", required: true, maxlength: 64, autocomplete: "off", pattern: "[A-Za-z0-9._@-]+" });
  const password = h("input", { id: "user-password", type: "password", required: true, minlength: 10, autocomplete: "new-password" });
  const role = roleSelect("user-role", "viewer", "Role");
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "user-error" });
  const create = h("button", { type: "submit", class: "button button-primary", "data-testid": "user-create" }, "Add user");
  const form = h(
    "form",
    { class: "settings-token-form", novalidate: true },
    h("div", { class: "settings-token-fields users-fields" },
      h("div", {}, h("label", { for: "user-name" }, "Username"), username),
      h("div", {}, h("label", { for: "user-password" }, "Password"), password),
      h("div", {}, h("label", { for: "user-role" }, "Role"), role)),
    h("p", { class: "muted settings-help" }, "Passwords need at least 10 characters and may not be a common password. " +
      roles.map(([, text]) => text).join(". ") + "."),
    error,
    create,
  );

  async function changeRole(user: User, select: HTMLSelectElement): Promise<void> {
    try {
      await api.put(`/api/v1/users/${user.id}`, { role: select.value });
      toast(`${user.username} is now ${select.value}.`, "success");
    } catch (failure) {
      select.value = user.role;
      toast(`Could not change ${user.username}'s role: ${errorText(failure)}`, "error");
    }
    if (alive) await load();
  }

  // A dialog with a password field (not window.prompt, which shows the text).
  function resetPassword(user: User): void {
    const field = h("input", { id: "reset-password", type: "password", autocomplete: "new-password", required: true, minlength: 10 });
    const failure = h("p", { class: "form-error", role: "alert", "data-testid": "reset-error" });
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const save = h("button", { type: "submit", class: "button button-primary", "data-testid": "reset-save" }, "Reset password");
    const dialog = h(
      "dialog",
      { "aria-labelledby": "reset-title", "data-testid": "reset-dialog" },
      h("form", { method: "dialog", novalidate: true },
        h("h2", { id: "reset-title" }, `New password for ${user.username}`),
        h("p", { class: "muted" }, "At least 10 characters, not a common password. Their sign-in sessions end."),
        h("label", { for: "reset-password" }, "New password"),
        field,
        failure,
        h("div", { class: "dialog-actions" }, cancel, save)),
    );
    const modal = openModal(dialog, root);
    cancel.addEventListener("click", () => modal.close());
    dialog.querySelector("form")!.addEventListener("submit", async (event) => {
      event.preventDefault();
      failure.textContent = "";
      save.disabled = true;
      try {
        await api.put(`/api/v1/users/${user.id}`, { password: field.value });
        toast(`Password of ${user.username} reset.`, "success");
        modal.close();
      } catch (error) {
        failure.textContent = errorText(error);
      } finally {
        save.disabled = false;
      }
    });
  }

  async function remove(user: User): Promise<void> {
    const ok = await confirmDialog({
      title: `Delete user “${user.username}”?`,
      message: "They can no longer sign in, and their API tokens stop working.",
      confirmLabel: "Delete",
      danger: true,
      container: root,
    });
    if (!ok || !alive) return;
    try {
      await api.del(`/api/v1/users/${user.id}`);
      toast(`User ${user.username} deleted.`, "success");
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 404)) toast(`Could not delete ${user.username}: ${errorText(failure)}`, "error");
    }
    if (alive) await load();
  }

  function render(users: User[]): void {
    if (users.length === 0) {
      replace(list, empty("No users."));
      return;
    }
    const self = currentUser()?.id;
    replace(
      list,
      h("div", { class: "table-wrap stack-table-wrap" },
        h("table", { class: "settings-token-table stack-table" },
          h("thead", {}, h("tr", {}, ["Username", "Role", "Created", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, users.map((user) => {
            const select = roleSelect(`role-${user.id}`, user.role, `Role of ${user.username}`);
            select.addEventListener("change", () => void changeRole(user, select));
            return h(
              "tr",
              { "data-testid": "user-row", "data-user": user.username },
              h("td", { "data-label": "Username" }, h("strong", {}, user.username), user.id === self ? h("span", { class: "muted" }, " (you)") : null),
              h("td", { "data-label": "Role" }, select),
              h("td", { "data-label": "Created" }, formatTime(user.created_at)),
              h("td", { class: "settings-token-actions stack-table-actions" },
                h("button", { type: "button", class: "button button-quiet", "data-testid": "user-reset", onclick: () => resetPassword(user) }, "Reset password"),
                h("button", { type: "button", class: "button button-quiet", "data-testid": "user-delete", "aria-label": `Delete ${user.username}`, onclick: () => void remove(user) }, "Delete")),
            );
          })))),
    );
  }

  async function load(): Promise<void> {
    try {
      const page = await api.get<Page<User>>("/api/v1/users");
      if (alive) render(page.items);
    } catch (failure) {
      if (alive) replace(list, loadFailed("the users", failure, () => void load()));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!username.value.trim() || !password.value) {
      error.textContent = "Enter a username and a password.";
      return;
    }
    create.disabled = true;
    try {
      await api.post("/api/v1/users", { username: username.value.trim(), password: password.value, role: role.value });
      if (!alive) return;
      toast(`User ${username.value.trim()} added.`, "success");
      username.value = "";
      password.value = "";
      role.value = "viewer";
      await load();
    } catch (failure) {
      if (alive) error.textContent = errorText(failure);
    } finally {
      create.disabled = false;
    }
  });

  replace(
    root,
    h("div", { class: "page-header" }, h("h1", {}, "Users")),
    h("section", { class: "card", "aria-labelledby": "users-title", "data-testid": "users" }, h("h2", { id: "users-title", class: "visually-hidden" }, "Users"), list),
    h("section", { class: "card settings-tokens", "aria-labelledby": "new-user-title" }, h("h2", { id: "new-user-title" }, "New user"), form),
  );
  void load();
  return () => {
    alive = false;
  };
}
