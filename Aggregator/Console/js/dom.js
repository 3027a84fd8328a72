// Small DOM helpers. Text is always set as text, never parsed as HTML.

/** An element: `h("a", {href: "#/x", class: "c", onclick: fn}, "text", child)`. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key in element && !key.startsWith("data-") && !key.startsWith("aria-")) element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

export function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** "3 min ago" and the exact time as the element's title. */
export function ago(iso) {
  if (!iso) return h("span", { class: "muted" }, "never");
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  let text;
  if (seconds < 60) text = `${Math.max(seconds, 0)} s ago`;
  else if (seconds < 3600) text = `${Math.floor(seconds / 60)} min ago`;
  else if (seconds < 86400) text = `${Math.floor(seconds / 3600)} h ago`;
  else text = `${Math.floor(seconds / 86400)} d ago`;
  return h("span", { title: time(iso) }, text);
}

export function badge(status) {
  return h("span", { class: `badge status-${status}`, "data-status": status }, status);
}

export function table(headings, rows, attributes = {}) {
  return h("div", { class: "table-wrap" },
    h("table", attributes,
      h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col" }, heading)))),
      h("tbody", {}, rows)));
}

/** A labelled form field. */
export function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

export function select(name, options, value) {
  return h("select", { name }, options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)));
}

/** Asks for confirmation in a modal dialog; resolves true only when confirmed. */
export function confirmAction(title, message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm" },
      h("h2", {}, title), h("p", {}, message),
      h("form", { method: "dialog", class: "actions" },
        h("button", { value: "cancel", class: "secondary" }, "Cancel"),
        h("button", { value: "confirm", class: "danger", "data-confirm": "yes" }, confirmLabel)));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A secret shown once, with a copy button. */
export function secretBox(label, value) {
  const code = h("code", { class: "secret" }, value);
  const button = h("button", { type: "button", class: "secondary" }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
  return h("div", { class: "secret-box" }, h("div", { class: "muted" }, label), h("div", { class: "secret-row" }, code, button));
}
