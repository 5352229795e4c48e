// One dataset: the price chart with indicator panes, and overlays from its runs and simulations.
import { get } from "../api.js";
import { MAX_BARS, PriceChart } from "../pricechart.js";
import { el, fmtDate, fmtIso, fmtNumber, keyValues, shortId, sortableTable, staleBadge } from "../util.js";

export async function render(view, { ref }, query) {
  const dataset = await get(`/api/datasets/${encodeURIComponent(ref)}`);
  const base = `/api/datasets/${encodeURIComponent(ref)}`;
  const status = el("span", { class: "muted mono", id: "chart-status" });
  const chartDiv = el("div", { class: "chart", id: "price-chart" });
  const chart = new PriceChart(chartDiv, dataset, (c) => {
    status.textContent =
      `${c.bars.length} bars (${c.sampleBy ? `sampled by ${c.sampleBy}` : "raw"}) · ${c.pointsHeld()} points held` +
      (c.run ? ` · ${c.predictions.length} predictions` : "") +
      (c.trades ? ` · ${c.trades.length} trades${c.tradesTruncated ? " (first 5000)" : ""}` : "") +
      ` · fetch ${Math.round(c.fetchMs || 0)} ms, draw ${Math.round(c.renderMs || 0)} ms`;
  });
  chart.indicators = (query.indicators || "").split(",").filter(Boolean);
  chart.run = query.run || null;
  // The bars are the slow part: ask for them together with the page's other lists, not after them.
  const firstWindow = dataset.ohlcv_rows ? chart.fetchWindow(chart.first, chart.last) : null;
  firstWindow?.catch(() => {}); // awaited below; a failure must not be reported as unhandled meanwhile
  const [sample, runs, simulations, versions] = await Promise.all([
    dataset.indicator_rows ? get(`${base}/indicators`, { format: "json", limit: 1 }) : [],
    get(`${base}/runs`, { limit: 1000 }),
    get("/api/simulations", { dataset_id: dataset.dataset_id, limit: 1000 }),
    "version" in dataset ? get(`${base}/versions`, { limit: 50 }) : null,
  ]);
  const indicatorNames = sample.length ? Object.keys(sample[0]).filter((name) => name !== "timestamp") : [];
  const chosen = new Set((query.indicators || "").split(",").filter((name) => indicatorNames.includes(name)));
  const checks = el(
    "span",
    { class: "checks", id: "indicator-choices" },
    indicatorNames.length ? "Indicators: " : el("span", { class: "muted" }, "No indicators stored"),
    indicatorNames.map((name) =>
      el(
        "label",
        {},
        el("input", {
          type: "checkbox",
          value: name,
          checked: chosen.has(name),
          onchange: (event) => {
            if (event.target.checked) chosen.add(name);
            else chosen.delete(name);
            chart.setIndicators([...chosen]).catch((error) => console.error(error));
          },
        }),
        ` ${name}`,
      ),
    ),
  );
  const runSelect = el(
    "select",
    { id: "run-overlay", onchange: () => chart.setRun(runSelect.value).catch((error) => console.error(error)) },
    el("option", { value: "" }, "no run"),
    runs.runs.map((run) =>
      el("option", { value: run.run_id, selected: run.run_id === query.run }, `${run.name || shortId(run.run_id)} · ${run.status}${run.stale ? " · stale" : ""}`),
    ),
  );
  const simulationSelect = el(
    "select",
    {
      id: "simulation-overlay",
      onchange: () => chart.setSimulation(simulationSelect.value).catch((error) => console.error(error)),
    },
    el("option", { value: "" }, "no simulation"),
    simulations.simulations.map((sim) =>
      el(
        "option",
        { value: sim.simulation_id, selected: sim.simulation_id === query.simulation },
        `${sim.name || shortId(sim.simulation_id)} · ${sim.trade_count} trades`,
      ),
    ),
  );

  view.replaceChildren(
    el("h1", {}, `${dataset.symbol} ${dataset.granularity} `, el("span", { class: "muted" }, dataset.dataset_slug)),
    el(
      "div",
      { class: "card" },
      keyValues([
        ["Bars", fmtNumber(dataset.ohlcv_rows)],
        ["Span (UTC)", `${fmtDate(dataset.ohlcv_first_ts)} → ${fmtDate(dataset.ohlcv_last_ts)}`],
        [
          "Runs / simulations",
          [
            `${dataset.related_runs} / ${dataset.related_simulations} `,
            el("a", { href: `#/runs?dataset=${encodeURIComponent(dataset.dataset_slug)}` }, "runs table"),
          ],
        ],
        ...("version" in dataset ? [["Version", String(dataset.version)]] : []),
      ]),
    ),
    el("div", { class: "row card" }, checks, el("label", {}, "Predictions of ", runSelect), el("label", {}, "Trades of ", simulationSelect)),
    el(
      "p",
      { class: "muted" },
      `Scroll to zoom, drag to pan, double-click to reset. At most ${MAX_BARS} bars are on screen: zooming fetches finer bars.`,
    ),
    status,
    chartDiv,
    ...(versions ? [el("h2", {}, "Versions"), versionsTable(versions)] : []),
    el("h2", {}, "Simulations"),
    simulations.simulations.length
      ? el(
          "ul",
          { id: "dataset-simulations" },
          simulations.simulations.map((sim) =>
            el(
              "li",
              {},
              el("a", { href: `#/simulations/${sim.simulation_id}` }, sim.name || shortId(sim.simulation_id)),
              ` · ${sim.status} · ${sim.trade_count} trades · run ${shortId(sim.run_id)}`,
              staleBadge(sim),
            ),
          ),
        )
      : el("p", { class: "muted" }, "No simulations."),
  );
  if (!dataset.ohlcv_rows) {
    chartDiv.replaceWith(el("p", { class: "muted" }, "This dataset holds no bars yet."));
    return null;
  }

  if (!chart.indicators.every((name) => chosen.has(name))) {
    chart.indicators = [...chosen]; // a link named an indicator this dataset lacks: drop it and load again
    await chart.loadAll();
  } else {
    await chart.show(await firstWindow);
  }
  if (query.simulation) await chart.setSimulation(query.simulation);
  return chart;
}

// Every change of the rows, newest first: a fingerprint (counts, bounds, checksums), not a snapshot.
function versionsTable(page) {
  const columns = [
    { key: "version", label: "Version", num: true },
    { key: "created_at", label: "Recorded (UTC)", render: (v) => fmtIso(v.created_at) },
    { key: "ohlcv_rows", label: "Bars", num: true, render: (v) => fmtNumber(v.ohlcv_rows) },
    { key: "ohlcv_first_ts", label: "Span (UTC)", render: (v) => (v.ohlcv_first_ts ? `${fmtDate(v.ohlcv_first_ts)} → ${fmtDate(v.ohlcv_last_ts)}` : "") },
    { key: "indicator_rows", label: "Indicator rows", num: true, render: (v) => fmtNumber(v.indicator_rows) },
    { key: "changed_from_ts", label: "Changed from (UTC)", render: (v) => fmtDate(v.changed_from_ts) },
  ];
  return sortableTable(columns, page.versions, { id: "versions-table", rowAttrs: (v) => ({ "data-version": v.version }) });
}
