// Account: the signed-in user's own password.
import { APIError, current, login, request } from "./api.js";
import { field, h } from "./dom.js";

export function render(root, { showError }) {
  const done = h("p", { class: "ok", hidden: true }, "Password changed.");
  const form = h("form", { class: "card narrow", id: "password-form" },
    h("h2", {}, "Change your password"),
    current.mustChangePassword ? h("p", { class: "warning" }, "Your password must be changed before you continue.") : null,
    field("Current password", h("input", { name: "currentPassword", type: "password", autocomplete: "current-password", required: true })),
    field("New password (12–72 bytes)", h("input", {
      name: "newPassword", type: "password", autocomplete: "new-password", required: true, minLength: 12, maxLength: 72,
    })),
    h("button", { type: "submit" }, "Change password"),
    done);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    done.hidden = true;
    const data = new FormData(form);
    try {
      const newPassword = String(data.get("newPassword"));
      await request("/me/password", { method: "POST", body: { currentPassword: String(data.get("currentPassword")), newPassword } });
      // The change revokes every refresh token of the user, this tab's too, and the access token
      // still says a change is required: signing in again with the new password keeps the session.
      const forced = current.mustChangePassword;
      await login(current.name, newPassword);
      form.reset();
      done.hidden = false;
      if (forced) location.hash = "#/fleet";
    } catch (error) {
      if (error instanceof APIError) showError(error);
      else throw error;
    }
  });
  root.append(h("h1", {}, "Account"), h("p", {}, `Signed in as ${current.name} (${current.role}).`), form);
}
