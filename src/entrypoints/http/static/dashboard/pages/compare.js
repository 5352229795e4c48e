// Compare 2–4 runs: parameters that differ highlighted, metrics side by side, per-fold metric charts.
// Uses GET /api/runs/compare when the server has it; otherwise the same shape is computed here from
// GET /api/runs/{id} (no data is made up: every value is a field of a run).
import { capabilities, get } from "../api.js";
import { plotly } from "../charts.js";
import { el, fmtValue, gap, shortId } from "../util.js";

function flatten(prefix, object) {
  return Object.fromEntries(Object.entries(object || {}).map(([key, value]) => [`${prefix}${key}`, value]));
}

export function compareLocally(runs) {
  const paramsOf = (run) => ({
    "dataset.slug": run.dataset_slug,
    target_column: run.target_column,
    feature_columns: run.feature_columns,
    fold_count: run.fold_count,
    ...flatten("walk.", run.walk_config),
    ...flatten("params.", run.hyperparameters),
  });
  const perRun = runs.map(paramsOf);
  const keys = [...new Set(perRun.flatMap((p) => Object.keys(p)))];
  const params = Object.fromEntries(keys.map((key) => [key, perRun.map((p) => (key in p ? p[key] : null))]));
  const params_differ = keys.filter((key) => new Set(params[key].map((v) => JSON.stringify(v))).size > 1);
  const metricKeys = [...new Set(runs.flatMap((run) => Object.keys(run.summary_metrics || {})))].sort();
  const metrics = Object.fromEntries(metricKeys.map((key) => [key, runs.map((run) => (run.summary_metrics || {})[key] ?? null)]));
  const fold_metrics = {};
  runs.forEach((run, index) => {
    for (const fold of run.folds || []) {
      const slot = (fold_metrics[fold.fold_number] ||= {});
      for (const [key, value] of Object.entries(fold.metrics || {})) {
        slot[key] ||= runs.map(() => null);
        slot[key][index] = value;
      }
    }
  });
  return { runs, params, params_differ, metrics, fold_metrics };
}

// The server compares hyperparameters; the rest of what sets a run apart (dataset, target, features, walk
// settings, fold count) is read from the run details that came with its answer.
function withRunFields(server) {
  const local = compareLocally(server.runs);
  const own = Object.keys(local.params).filter((key) => !key.startsWith("params."));
  const params = {
    ...Object.fromEntries(own.map((key) => [key, local.params[key]])),
    ...Object.fromEntries(Object.entries(server.params).map(([key, values]) => [`params.${key}`, values])),
  };
  const params_differ = [
    ...local.params_differ.filter((key) => !key.startsWith("params.")),
    ...server.params_differ.map((key) => `params.${key}`),
  ];
  return { ...server, params, params_differ };
}

export async function render(view, _args, query) {
  const ids = (query.ids || "").split(",").filter(Boolean);
  if (ids.length < 2) {
    view.replaceChildren(el("h1", {}, "Compare runs"), el("p", {}, "Pick 2–4 runs on the Runs page."));
    return null;
  }
  const caps = await capabilities();
  const result = caps.runCompare
    ? withRunFields(await get("/api/runs/compare", { ids: ids.join(",") }))
    : compareLocally(await Promise.all(ids.map((id) => get(`/api/runs/${id}`))));
  const names = result.runs.map((run) => run.name || shortId(run.run_id));
  const header = el("tr", {}, el("th", {}, ""), names.map((name, i) => el("th", {}, el("a", { href: `#/datasets/${encodeURIComponent(result.runs[i].dataset_slug)}?run=${result.runs[i].run_id}` }, name))));
  const differ = new Set(result.params_differ);
  const paramRows = Object.keys(result.params)
    .sort((a, b) => Number(differ.has(b)) - Number(differ.has(a)) || a.localeCompare(b))
    .map((key) =>
      el(
        "tr",
        { class: differ.has(key) ? "differ" : "", "data-param": key },
        el("td", {}, key),
        result.params[key].map((value) => el("td", {}, fmtValue(value))),
      ),
    );
  const metricRows = Object.entries(result.metrics).map(([key, values]) =>
    el("tr", { "data-metric": key }, el("td", {}, key), values.map((value) => el("td", { class: "num" }, fmtValue(value)))),
  );
  const foldKeys = [...new Set(Object.values(result.fold_metrics).flatMap((slot) => Object.keys(slot)))].sort();
  const charts = foldKeys.map((key) => el("div", { class: "chart fold-chart", id: `fold-chart-${key}`, "data-metric": key }));

  view.replaceChildren(
    el("h1", {}, `Compare ${result.runs.length} runs`),
    caps.runCompare ? "" : gap("GET /api/runs/compare — the comparison is computed in the browser from each run's detail."),
    el("h2", {}, `Parameters (${differ.size} differ)`),
    el("table", { class: "grid", id: "compare-params" }, el("thead", {}, header.cloneNode(true)), el("tbody", {}, paramRows)),
    el("h2", {}, "Metrics"),
    el("table", { class: "grid", id: "compare-metrics" }, el("thead", {}, header.cloneNode(true)), el("tbody", {}, metricRows)),
    el("h2", {}, "Per-fold metrics"),
    charts.length ? el("div", { class: "row" }, charts) : el("p", { class: "muted" }, "No fold metrics."),
  );
  const Plotly = charts.length ? await plotly() : null;
  const folds = Object.keys(result.fold_metrics).map(Number).sort((a, b) => a - b);
  for (const [index, key] of foldKeys.entries()) {
    const traces = result.runs.map((_, runIndex) => ({
      type: "bar",
      name: names[runIndex],
      x: folds.map((fold) => `fold ${fold}`),
      y: folds.map((fold) => ((result.fold_metrics[fold] || {})[key] || [])[runIndex] ?? null),
    }));
    await Plotly.newPlot(
      charts[index],
      traces,
      { title: { text: key }, barmode: "group", height: 280, width: 460, margin: { l: 50, r: 10, t: 40, b: 40 } },
      { displaylogo: false, responsive: false },
    );
  }
  return { dispose: () => charts.forEach((chart) => Plotly.purge(chart)) };
}
