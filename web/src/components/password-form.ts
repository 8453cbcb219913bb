// "Change my password" (PUT /api/v1/users/me/password), for every role. The
// server applies the password policy and names the field it refuses.
import { ApiError, api, errorText } from "../api.js";
import { h } from "../dom.js";
import { toast } from "../toast.js";

export function passwordSection(isAlive: () => boolean): HTMLElement {
  const current = h("input", { id: "password-current", type: "password", autocomplete: "current-password", required: true });
  const fresh = h("input", { id: "password-new", type: "password", autocomplete: "new-password", required: true, minlength: 10, "aria-describedby": "password-new-help" });
  const error = h("p", { class: "form-error", role: "alert", "data-testid": "password-error" });
  const submit = h("button", { type: "submit", class: "button button-primary", "data-testid": "password-save" }, "Change password");
  const form = h(
    "form",
    { class: "settings-token-form", novalidate: true, "data-testid": "password-form" },
    h("div", { class: "settings-token-fields" },
      h("div", {}, h("label", { for: "password-current" }, "Current password"), current),
      h("div", {}, h("label", { for: "password-new" }, "New password"), fresh)),
    h("p", { id: "password-new-help", class: "muted settings-help" }, "At least 10 characters, and not a common password."),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!current.value || !fresh.value) {
      error.textContent = "Enter your current password and a new one.";
      return;
    }
    submit.disabled = true;
    try {
      await api.put("/api/v1/users/me/password", { current_password: current.value, new_password: fresh.value });
      if (!isAlive()) return;
      current.value = "";
      fresh.value = "";
      toast("Password changed.", "success");
    } catch (failure) {
      if (!isAlive()) return;
      error.textContent = failure instanceof ApiError && failure.code === "wrong_password" ? "The current password is wrong." : errorText(failure);
    } finally {
      submit.disabled = false;
    }
  });
  return h(
    "section",
    { class: "card settings-tokens", "aria-labelledby": "password-title", "data-testid": "my-password" },
    h("h2", { id: "password-title" }, "My password"),
    form,
  );
}
