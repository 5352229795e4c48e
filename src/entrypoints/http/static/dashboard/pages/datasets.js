// Datasets: a searchable table; the search box asks the server (`search=` matches slug or symbol).
import { get } from "../api.js";
import { el, fmtDate, fmtNumber, sortableTable } from "../util.js";

export async function render(view, _args, query) {
  const search = el("input", {
    type: "search",
    id: "dataset-search",
    placeholder: "Search slug or symbol…",
    value: query.search || "",
  });
  const count = el("span", { class: "muted", id: "dataset-count" });
  const holder = el("div");
  view.replaceChildren(el("h1", {}, "Datasets"), el("div", { class: "row card" }, search, count), holder);

  let timer = null;
  let generation = 0;
  async function load() {
    const mine = ++generation;
    const page = await get("/api/datasets", { search: search.value.trim(), limit: 1000 });
    if (mine !== generation) return;
    const rows = page.datasets;
    const hasVersion = rows.some((row) => "version" in row);
    const stale = hasVersion ? await staleCounts() : new Map();
    if (mine !== generation) return;
    for (const row of rows) row.stale_results = stale.get(row.dataset_id) || 0;
    const columns = [
      { key: "symbol", label: "Symbol" },
      {
        key: "dataset_slug",
        label: "Dataset",
        render: (row) => el("a", { href: `#/datasets/${encodeURIComponent(row.dataset_slug)}` }, row.dataset_slug),
      },
      { key: "granularity", label: "Granularity" },
      { key: "ohlcv_rows", label: "Rows", num: true, render: (row) => fmtNumber(row.ohlcv_rows) },
      {
        key: "ohlcv_first_ts",
        label: "Span (UTC)",
        render: (row) => (row.ohlcv_first_ts ? `${fmtDate(row.ohlcv_first_ts)} → ${fmtDate(row.ohlcv_last_ts)}` : ""),
      },
      ...(hasVersion ? [{ key: "version", label: "Version", num: true }] : []),
      { key: "related_runs", label: "Runs", num: true },
      { key: "related_simulations", label: "Simulations", num: true },
      ...(hasVersion ? [{ key: "stale_results", label: "Stale results", num: true }] : []),
    ];
    count.textContent = `${page.total} dataset${page.total === 1 ? "" : "s"}`;
    holder.replaceChildren(sortableTable(columns, rows, { id: "datasets-table" }));
    view.dataset.rows = String(rows.length);
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load().catch((error) => console.error(error)), 200);
  });
  await load();
  return { dispose: () => clearTimeout(timer) };
}

// Stale runs and simulations per dataset id, from the search language's `stale` field (two requests).
async function staleCounts() {
  const [runs, simulations] = await Promise.all([
    get("/api/runs", { filter: "stale = true", limit: 1000 }),
    get("/api/simulations", { filter: "stale = true", limit: 1000 }),
  ]);
  const counts = new Map();
  for (const record of [...runs.runs, ...simulations.simulations]) {
    counts.set(record.dataset_id, (counts.get(record.dataset_id) || 0) + 1);
  }
  return counts;
}
