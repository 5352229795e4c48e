// The dashboard's shell: hash routes (#/datasets, #/datasets/<slug>, #/runs, #/compare?ids=..,
// #/simulations/<id>, #/jobs, #/import, #/signin), the nav bar and the sign-in state.
import { ApiError, authState, capabilities, get, request, storeToken, storedToken } from "./api.js";
import { el, errorBox } from "./util.js";

const PAGES = {
  datasets: () => import("./pages/datasets.js"),
  dataset: () => import("./pages/dataset.js"),
  runs: () => import("./pages/runs.js"),
  compare: () => import("./pages/compare.js"),
  simulation: () => import("./pages/simulation.js"),
  jobs: () => import("./pages/jobs.js"),
  import: () => import("./pages/import.js"),
  signin: () => import("./pages/signin.js"),
};

function parseRoute() {
  const hash = window.location.hash.replace(/^#\/?/, "") || "datasets";
  const [path, queryString] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(queryString || ""));
  if (parts[0] === "datasets" && parts[1]) return { page: "dataset", nav: "datasets", args: { ref: parts[1] }, query };
  if (parts[0] === "simulations" && parts[1]) return { page: "simulation", nav: "runs", args: { id: parts[1] }, query };
  if (parts[0] === "compare") return { page: "compare", nav: "runs", args: {}, query };
  const page = PAGES[parts[0]] ? parts[0] : "datasets";
  return { page, nav: page, args: {}, query };
}

let current = null; // the page on screen, so it can stop its streams and timers when left
let lastRoute = null; // a page that finishes loading after the user moved on is dropped

window.addEventListener("hashchange", () => {
  lastRoute = parseRoute();
  renderRoute(lastRoute);
});

async function renderRoute(route) {
  for (const link of document.querySelectorAll("#nav a[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === route.nav);
  }
  if (current && current.dispose) current.dispose();
  current = null;
  const view = document.getElementById("view");
  view.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  view.dataset.page = route.page;
  view.dataset.ready = "false";
  try {
    const module = await PAGES[route.page]();
    if (route !== lastRoute) return;
    current = (await module.render(view, route.args, route.query)) || null;
  } catch (error) {
    if (route !== lastRoute) return;
    if (error instanceof ApiError && error.status === 401 && route.page !== "signin") {
      window.location.hash = `#/signin?next=${encodeURIComponent(window.location.hash)}`;
      refreshAuthState();
      return;
    }
    view.replaceChildren(errorBox(error));
  }
  if (route === lastRoute) view.dataset.ready = "true";
}

export async function refreshAuthState() {
  const box = document.getElementById("auth-state");
  const caps = await capabilities();
  let signedIn = Boolean(storedToken());
  if (authState.required === null) {
    try {
      await get("/api/datasets", { limit: 1 });
    } catch {
      // authState now says whether a token is needed; any other failure is the page's to show.
    }
  }
  const required = authState.required === true;
  if (!required && !signedIn && caps.session) signedIn = document.cookie.includes("stage1_csrf=");
  box.replaceChildren();
  if (required) {
    box.append(el("a", { href: "#/signin", id: "signin-link" }, "Sign in"));
  } else if (signedIn) {
    box.append(
      el("span", {}, caps.session && !storedToken() ? "Signed in (session)" : "Signed in (token)"),
      el("button", { id: "signout", onclick: signOut }, "Sign out"),
    );
  } else {
    box.append(el("span", { class: "muted" }, "Auth off (loopback)"));
  }
}

async function signOut() {
  const caps = await capabilities();
  if (caps.session) {
    try {
      await request("DELETE", "/api/auth/session");
    } catch {
      // Already gone: signing out must still clear what this tab holds.
    }
  }
  storeToken(null);
  authState.required = true; // there was something to sign out of: the server wants a token
  await refreshAuthState();
  window.location.hash = "#/signin";
}

window.addEventListener("stage1:signed-in", () => refreshAuthState());

lastRoute = parseRoute();
renderRoute(lastRoute).then(refreshAuthState);
