// One simulation: equity and drawdown, bucket statistics, the trades table paged from the API, and the
// trades on the dataset's price chart.
import { get } from "../api.js";
import { ascendingUnique, bandMargins, baseOptions, heldSeries, lightweightCharts, toSeconds } from "../charts.js";
import { PriceChart } from "../pricechart.js";
import { el, fmtIso, fmtNumber, fmtValue, keyValues, shortId, sortableTable, staleBadge, statusBadge } from "../util.js";

const TRADES_PAGE = 25;

export async function render(view, { id }) {
  const sim = await get(`/api/simulations/${encodeURIComponent(id)}`);
  const [equity, dataset] = await Promise.all([
    get(`/api/simulations/${encodeURIComponent(id)}/equity`),
    get(`/api/datasets/${sim.dataset_id}`),
  ]);
  const equityDiv = el("div", { class: "chart", id: "equity-chart" });
  const tradesHolder = el("div");
  const pager = el("div", { class: "pager" });
  const priceDiv = el("div", { class: "chart", id: "price-chart" });
  const bucketColumns = [
    "bucket", "trade_count", "win_count", "loss_count", "total_pnl", "avg_pnl", "avg_return_pct", "max_win", "max_loss",
  ].map((key) => ({ key, label: key.replaceAll("_", " "), num: key !== "bucket", render: (row) => fmtValue(row[key]) }));

  view.replaceChildren(
    el("h1", {}, `Simulation ${sim.name || shortId(sim.simulation_id)} `, statusBadge(sim.status), staleBadge(sim)),
    el(
      "div",
      { class: "card" },
      keyValues([
        ["Dataset", el("a", { href: `#/datasets/${encodeURIComponent(dataset.dataset_slug)}?simulation=${sim.simulation_id}&run=${sim.run_id}` }, dataset.dataset_slug)],
        ["Run", sim.run_id, { class: "mono" }],
        ["Trades", fmtNumber(sim.trade_count)],
        ["Config", JSON.stringify(sim.config), { class: "mono" }],
        ["Metrics", JSON.stringify(sim.summary_metrics), { class: "mono" }],
      ]),
    ),
    el("h2", {}, "Equity and drawdown"),
    equityDiv,
    el("h2", {}, "Buckets"),
    sortableTable(bucketColumns, sim.trade_buckets || [], { id: "buckets-table" }),
    el("h2", {}, "Trades"),
    tradesHolder,
    pager,
    el("h2", {}, "Trades on the price chart"),
    priceDiv,
  );

  const x = equity.points.map((point) => point.timestamp);
  const equityChart = await drawEquity(equityDiv, equity.points);

  let offset = 0;
  async function loadTrades() {
    const page = await get(`/api/simulations/${encodeURIComponent(id)}/trades`, { limit: TRADES_PAGE, offset });
    const columns = [
      "trade_id", "side", "entry_timestamp", "exit_timestamp", "entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees", "fold_number",
    ].map((key) => ({
      key,
      label: key.replaceAll("_", " "),
      num: !["side", "entry_timestamp", "exit_timestamp"].includes(key),
      render: (row) =>
        key.endsWith("_timestamp") ? fmtIso(row[key] === null ? null : new Date(row[key]).toISOString()) : fmtValue(row[key]),
    }));
    tradesHolder.replaceChildren(sortableTable(columns, page.trades, { id: "trades-table" }));
    pager.replaceChildren(
      el("button", { id: "trades-prev", disabled: offset === 0, onclick: () => ((offset = Math.max(0, offset - TRADES_PAGE)), loadTrades()) }, "‹ Prev"),
      el("span", { class: "muted", id: "trades-range" }, `${page.total ? offset + 1 : 0}-${offset + page.trades.length} of ${page.total}`),
      el("button", { id: "trades-next", disabled: offset + page.trades.length >= page.total, onclick: () => ((offset += TRADES_PAGE), loadTrades()) }, "Next ›"),
    );
  }
  await loadTrades();

  if (!dataset.ohlcv_rows) {
    priceDiv.replaceWith(el("p", { class: "muted" }, "The dataset holds no bars."));
    return { dispose: () => equityChart.remove() };
  }
  const chart = new PriceChart(priceDiv, dataset);
  // Open on the span the trades cover; the whole dataset is a double-click away.
  if (x.length > 1) {
    const span = (x[x.length - 1] - x[0]) / 1000;
    await chart.load(x[0] / 1000 - span * 0.05, x[x.length - 1] / 1000 + span * 0.05);
  } else {
    await chart.loadAll();
  }
  await chart.setSimulation(sim.simulation_id);
  return {
    dispose: () => {
      chart.dispose();
      equityChart.remove();
    },
  };
}

// Equity above, drawdown (as a negative fraction) in a band below, on one time axis.
async function drawEquity(div, points) {
  const charts = await lightweightCharts();
  const chart = charts.createChart(div, { ...baseOptions(360), width: div.clientWidth });
  const [top, bottom] = bandMargins([3, 1]);
  const equity = chart.addLineSeries({ color: "#2e90fa", lineWidth: 2, title: "equity", priceLineVisible: false });
  const drawdown = chart.addAreaSeries({
    priceScaleId: "drawdown",
    lineColor: "#dc2626",
    topColor: "rgba(220, 38, 38, 0.05)",
    bottomColor: "rgba(220, 38, 38, 0.3)",
    lineWidth: 1,
    title: "drawdown",
    priceFormat: { type: "percent" },
  });
  chart.priceScale("right").applyOptions({ scaleMargins: top });
  chart.priceScale("drawdown").applyOptions({ scaleMargins: bottom });
  const equityPoints = ascendingUnique(points.map((p) => ({ time: toSeconds(p.timestamp), value: p.equity })));
  const drawdownPoints = ascendingUnique(points.map((p) => ({ time: toSeconds(p.timestamp), value: -100 * p.drawdown })));
  equity.setData(equityPoints);
  drawdown.setData(drawdownPoints);
  chart.timeScale().fitContent();
  div.chart = chart;
  div.data = heldSeries([
    ["equity", equityPoints.map((p) => p.time)],
    ["drawdown", drawdownPoints.map((p) => p.time)],
  ]);
  return chart;
}
