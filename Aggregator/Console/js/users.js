// Users and API keys (admin): create, change role, disable, reset a password; keys shown once, revoked.
import { current, request } from "./api.js";
import { confirmAction, field, fill, h, secretBox, select, table, time } from "./dom.js";

const roles = [["viewer", "viewer"], ["operator", "operator"], ["admin", "admin"]];

export async function render(root, { showError }) {
  const users = h("div", { id: "users" });
  const keys = h("div", { id: "api-keys" });
  const shown = h("div", { id: "shown-once" });
  const userForm = h("form", { class: "filters", id: "user-form" },
    field("Username", h("input", { name: "username", required: true, maxLength: 64 })),
    field("Password (12–72 bytes)", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minLength: 12, maxLength: 72 })),
    field("Role", select("role", roles, "viewer")),
    h("button", { type: "submit" }, "Create user"));
  const keyForm = h("form", { class: "filters", id: "key-form" },
    field("Name", h("input", { name: "name", required: true, maxLength: 100 })),
    field("Role", select("role", roles, "viewer")),
    field("Valid for (days, at most 400)", h("input", { name: "days", type: "number", min: 1, max: 400, value: 90 })),
    h("button", { type: "submit" }, "Create API key"));
  root.append(h("h1", {}, "Users and API keys"), shown, h("h2", {}, "Users"), userForm, users, h("h2", {}, "API keys"), keyForm, keys);

  const guarded = (action) => async (event) => {
    event.preventDefault();
    try { await action(event); } catch (error) { showError(error); }
  };

  async function loadUsers() {
    const list = await request("/users");
    fill(users, table(["User", "Role", "Created", "State", ""], list.items.map((user) => {
      const self = user.username === current.name;
      const role = select("role", roles, user.role);
      role.disabled = self;
      role.addEventListener("change", guarded(async () => {
        await request(`/users/${encodeURIComponent(user.username)}`, { method: "PATCH", body: { role: role.value } });
        await loadUsers();
      }));
      return h("tr", { "data-user": user.username },
        h("td", {}, user.username), h("td", {}, role), h("td", {}, time(user.createdAt)),
        h("td", {}, user.disabled ? "disabled" : "active"),
        h("td", { class: "actions" }, self ? h("span", { class: "muted" }, "you (another admin changes your account)") : [
          h("button", {
            type: "button", class: "secondary", onclick: guarded(async () => {
              await request(`/users/${encodeURIComponent(user.username)}`, { method: "PATCH", body: { disabled: !user.disabled } });
              await loadUsers();
            }),
          }, user.disabled ? "Enable" : "Disable"),
          h("button", {
            type: "button", class: "secondary", onclick: guarded(async () => {
              if (!await confirmAction(`Reset ${user.username}'s password?`, "A one-time password replaces the current one; they must change it at their next login.", "Reset")) return;
              const answer = await request(`/users/${encodeURIComponent(user.username)}/password-reset`, { method: "POST" });
              fill(shown, secretBox(`One-time password for ${user.username} (shown once)`, answer.oneTimePassword));
            }),
          }, "Reset password"),
        ]));
    })));
  }

  async function loadKeys() {
    const list = await request("/api-keys");
    fill(keys, list.items.length === 0 ? h("p", { class: "muted" }, "No API keys.")
      : table(["Id", "Name", "Role", "Created by", "Expires", "Last used", ""], list.items.map((key) => h("tr", { "data-key": key.id },
        h("td", { class: "mono" }, key.id), h("td", {}, key.name), h("td", {}, key.role), h("td", {}, key.createdBy),
        h("td", {}, time(key.expiresAt)), h("td", {}, time(key.lastUsedAt)),
        h("td", {}, key.revoked ? "revoked" : h("button", {
          type: "button", class: "danger", onclick: guarded(async () => {
            if (!await confirmAction(`Revoke API key ${key.name}?`, "Calls with it are refused at once.", "Revoke")) return;
            await request(`/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
            await loadKeys();
          }),
        }, "Revoke"))))));
  }

  userForm.addEventListener("submit", guarded(async () => {
    const data = new FormData(userForm);
    await request("/users", { method: "POST", body: { username: String(data.get("username")), password: String(data.get("password")), role: String(data.get("role")) } });
    userForm.reset();
    await loadUsers();
  }));
  keyForm.addEventListener("submit", guarded(async () => {
    const data = new FormData(keyForm);
    const expiresAt = new Date(Date.now() + Number(data.get("days")) * 86400 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    const created = await request("/api-keys", { method: "POST", body: { name: String(data.get("name")), role: String(data.get("role")), expiresAt } });
    fill(shown, secretBox(`API key ${created.key.name} (shown once)`, created.secret));
    keyForm.reset();
    await loadKeys();
  }));

  await Promise.all([loadUsers(), loadKeys()]);
}
