// Sign in with a token or the shared secret. With POST /api/auth/session on the server, that sets an
// HttpOnly session cookie (and a CSRF cookie); without it — the fallback until that route lands — the
// token is kept in this tab's sessionStorage and sent as X-Stage1-Token (a secret is first exchanged for
// a one-day token through POST /api/auth/token).
import { ApiError, capabilities, get, post, storeToken } from "../api.js";
import { el, errorBox, gap } from "../util.js";

export async function render(view, _args, query) {
  const caps = await capabilities();
  const out = el("div", { id: "signin-result" });
  const token = el("input", { type: "password", id: "signin-token", class: "wide", placeholder: "s1_…", autocomplete: "off" });
  const secret = el("input", { type: "password", id: "signin-secret", class: "wide", placeholder: "shared secret", autocomplete: "off" });
  const name = el("input", { type: "text", id: "signin-name", value: "dashboard" });

  async function done() {
    window.dispatchEvent(new CustomEvent("stage1:signed-in"));
    window.location.hash = query.next || "#/datasets";
  }

  async function withToken(value) {
    if (caps.session) {
      await post("/api/auth/session", { token: value });
    } else {
      storeToken(value);
      try {
        await get("/api/datasets", { limit: 1 });
      } catch (error) {
        storeToken(null);
        throw error;
      }
    }
  }

  async function submit(event, action) {
    event.preventDefault();
    out.replaceChildren();
    try {
      await action();
      await done();
    } catch (error) {
      out.replaceChildren(errorBox(error instanceof ApiError && error.status === 401 ? new Error("That token or secret was not accepted.") : error));
    }
  }

  view.replaceChildren(
    el("h1", {}, "Sign in"),
    caps.session
      ? el("p", { class: "muted" }, "Signing in starts a browser session (HttpOnly cookie); sign out ends it on the server.")
      : gap(
          "browser sessions (POST /api/auth/session). The token is kept in this tab only (sessionStorage) and sent as X-Stage1-Token.",
        ),
    el(
      "form",
      { class: "card", id: "signin-token-form", onsubmit: (event) => submit(event, () => withToken(token.value.trim())) },
      el("h2", {}, "With a token"),
      el("div", { class: "row" }, token, el("button", { class: "primary", type: "submit" }, "Sign in")),
    ),
    el(
      "form",
      {
        class: "card",
        id: "signin-secret-form",
        onsubmit: (event) =>
          submit(event, async () => {
            if (caps.session) {
              await post("/api/auth/session", { secret: secret.value, name: name.value || "dashboard" });
            } else {
              const issued = await post("/api/auth/token", { secret: secret.value, name: name.value || "dashboard", ttl_days: 1 });
              await withToken(issued.token);
            }
          }),
      },
      el("h2", {}, "With the shared secret"),
      el("div", { class: "row" }, secret, el("label", {}, "Name ", name), el("button", { class: "primary", type: "submit" }, "Sign in")),
    ),
    out,
  );
  return null;
}
