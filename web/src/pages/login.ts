import { ApiError, api, errorText, setToken } from "../api.js";
import { h } from "../dom.js";
import { navigate, type PageContext } from "../router.js";

export function loginPage({ root, query }: PageContext): void {
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, value: "admin" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const message = h("p", { class: "form-error", role: "alert", "data-testid": "login-error" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Sign in");
  const form = h(
    "form",
    { class: "login-card", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Safelynx"),
    query.get("expired") ? h("p", { class: "notice" }, "Your session has ended. Please sign in again.") : null,
    h("label", { for: "username" }, "User name"),
    username,
    h("label", { for: "password" }, "Password"),
    password,
    message,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      const result = await api.post<{ token: string }>("/api/v1/auth/login", { username: username.value, password: password.value });
      setToken(result.token);
      const next = query.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/", true);
    } catch (error) {
      message.textContent =
        error instanceof ApiError && error.code === "invalid_credentials" ? "Wrong user name or password." : errorText(error);
      submit.disabled = false;
      submit.textContent = "Sign in";
      password.select();
    }
  });
  root.appendChild(h("main", { class: "login-screen" }, form));
  password.focus();
}
