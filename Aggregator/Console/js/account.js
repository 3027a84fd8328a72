// Account: the signed-in user's own password.
import { APIError, current, passwordChanged, request } from "./api.js";
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
      await request("/me/password", {
        method: "POST", body: { currentPassword: String(data.get("currentPassword")), newPassword: String(data.get("newPassword")) },
      });
      form.reset();
      done.hidden = false;
      if (current.mustChangePassword) {
        passwordChanged();
        location.hash = "#/fleet";
      }
    } catch (error) {
      if (error instanceof APIError) showError(error);
      else throw error;
    }
  });
  root.append(h("h1", {}, "Account"), h("p", {}, `Signed in as ${current.name} (${current.role}).`), form);
}
