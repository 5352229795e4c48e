// The price chart: candlesticks with volume, chosen indicators in panes below, a run's predictions and a
// simulation's trades as overlays. Zoom and pan fetch the visible span again at the finest `sample_by`
// bucket that keeps it under MAX_BARS bars, so the page never holds more than a few thousand points.
import { get } from "./api.js";
import { bucketFor, fetchAllPages } from "./util.js";

export const MAX_BARS = 1500;
const MAX_PREDICTIONS = 2000;
const MAX_MARKERS = 1000;
const MARGIN = 0.1; // fetch a little beyond the visible span so a short pan needs no new request

const toDate = (value) => (typeof value === "number" ? value : Date.parse(String(value).replace(" ", "T") + "Z"));

export class PriceChart {
  constructor(div, dataset, onStatus = () => {}) {
    this.div = div;
    this.dataset = dataset;
    this.ref = dataset.dataset_slug;
    this.onStatus = onStatus;
    this.indicators = [];
    this.run = null;
    this.trades = null; // all trades of the chosen simulation (capped), filtered to the window when drawn
    this.window = null; // [fromSeconds, toSeconds] of the bars held
    this.view = null; // [fromMs, toMs] the user is looking at, null = everything
    this.bars = [];
    this.indicatorRows = [];
    this.predictions = [];
    this.sampleBy = null;
    this.generation = 0;
    this.renders = 0;
    this.timer = null;
  }

  get first() {
    return this.dataset.ohlcv_first_ts;
  }

  get last() {
    return this.dataset.ohlcv_last_ts;
  }

  async load(fromSeconds, toSeconds) {
    const mine = ++this.generation;
    const started = performance.now();
    const from = Math.max(this.first, Math.floor(fromSeconds));
    const to = Math.min(this.last, Math.ceil(toSeconds));
    const sampleBy = bucketFor(to - from, this.dataset.granularity, MAX_BARS);
    const range = { from, to, format: "json", sample_by: sampleBy };
    const base = `/api/datasets/${encodeURIComponent(this.ref)}`;
    const [bars, indicatorRows, predictions] = await Promise.all([
      get(`${base}/ohlcv`, range),
      this.indicators.length ? get(`${base}/indicators`, { ...range, columns: this.indicators.join(",") }) : [],
      this.run ? get(`/api/runs/${this.run}/predictions`, { from, to, format: "json", limit: MAX_PREDICTIONS }) : [],
    ]);
    if (mine !== this.generation) return false; // a newer zoom won
    this.bars = bars;
    this.indicatorRows = indicatorRows;
    this.predictions = predictions;
    this.sampleBy = sampleBy;
    this.window = [from, to];
    this.fetchMs = performance.now() - started;
    await this.draw();
    return true;
  }

  async loadAll() {
    return this.load(this.first, this.last);
  }

  setIndicators(names) {
    this.indicators = names;
    return this.reload();
  }

  setRun(runId) {
    this.run = runId || null;
    return this.reload();
  }

  async setSimulation(simulationId) {
    this.trades = null;
    this.tradesTruncated = false;
    if (simulationId) {
      const { items, truncated } = await fetchAllPages(
        (after) => get(`/api/simulations/${simulationId}/trades`, { limit: 1000, after }),
        "trades",
        5000,
      );
      this.trades = items;
      this.tradesTruncated = truncated;
    }
    return this.draw();
  }

  reload() {
    if (!this.window) return this.loadAll();
    return this.load(this.window[0], this.window[1]);
  }

  pointsHeld() {
    return (this.div.data || []).reduce((sum, trace) => sum + (trace.x ? trace.x.length : 0), 0);
  }

  traces() {
    const x = this.bars.map((bar) => bar.timestamp);
    const panes = ["price", "volume", ...this.indicators, ...(this.run ? ["prediction"] : [])];
    const axis = (pane) => (panes.indexOf(pane) === 0 ? "y" : `y${panes.indexOf(pane) + 1}`);
    const traces = [
      {
        type: "candlestick",
        name: this.sampleBy ? `OHLC (${this.sampleBy})` : "OHLC",
        x,
        open: this.bars.map((bar) => bar.open),
        high: this.bars.map((bar) => bar.high),
        low: this.bars.map((bar) => bar.low),
        close: this.bars.map((bar) => bar.close),
        yaxis: "y",
        increasing: { line: { color: "#16a34a" } },
        decreasing: { line: { color: "#dc2626" } },
        meta: "ohlc",
      },
      {
        type: "bar",
        name: "volume",
        x,
        y: this.bars.map((bar) => bar.volume),
        yaxis: axis("volume"),
        marker: { color: "#98a2b3" },
        meta: "volume",
      },
    ];
    for (const name of this.indicators) {
      traces.push({
        type: "scattergl",
        mode: "lines",
        name,
        x: this.indicatorRows.map((row) => row.timestamp),
        y: this.indicatorRows.map((row) => row[name]),
        yaxis: axis(name),
        meta: `indicator:${name}`,
      });
    }
    if (this.run) {
      traces.push({
        type: "scattergl",
        mode: "lines",
        name: "prediction",
        x: this.predictions.map((row) => row.timestamp),
        y: this.predictions.map((row) => row.prediction),
        yaxis: axis("prediction"),
        line: { color: "#7a5af8" },
        meta: "predictions",
      });
    }
    if (this.trades) {
      const [fromMs, toMs] = this.window ? [this.window[0] * 1000, this.window[1] * 1000] : [-Infinity, Infinity];
      const inWindow = (t) => t >= fromMs && t <= toMs;
      const entries = this.trades.filter((trade) => inWindow(trade.entry_timestamp)).slice(0, MAX_MARKERS);
      const exits = this.trades.filter((trade) => trade.exit_timestamp !== null && inWindow(trade.exit_timestamp));
      traces.push(
        {
          type: "scatter",
          mode: "markers",
          name: "entries",
          x: entries.map((trade) => trade.entry_timestamp),
          y: entries.map((trade) => trade.entry_price),
          text: entries.map((trade) => `#${trade.trade_id} ${trade.side} entry`),
          marker: {
            size: 10,
            symbol: entries.map((trade) => (trade.side === "short" ? "triangle-down" : "triangle-up")),
            color: entries.map((trade) => (trade.side === "short" ? "#dc2626" : "#16a34a")),
            line: { width: 1, color: "#101828" },
          },
          yaxis: "y",
          meta: "entries",
        },
        {
          type: "scatter",
          mode: "markers",
          name: "exits",
          x: exits.slice(0, MAX_MARKERS).map((trade) => trade.exit_timestamp),
          y: exits.slice(0, MAX_MARKERS).map((trade) => trade.exit_price),
          text: exits.slice(0, MAX_MARKERS).map((trade) => `#${trade.trade_id} exit, pnl ${trade.pnl}`),
          marker: { size: 9, symbol: "x", color: "#101828" },
          yaxis: "y",
          meta: "exits",
        },
      );
    }
    return { traces, panes };
  }

  layout(panes) {
    // Price gets three shares of the height, every other pane one.
    const weights = panes.map((pane) => (pane === "price" ? 3 : 1));
    const total = weights.reduce((a, b) => a + b, 0);
    const gap = 0.03;
    const layout = {
      uirevision: "keep", // Plotly keeps the user's zoom across data updates
      height: 380 + 110 * (panes.length - 1),
      margin: { l: 60, r: 20, t: 10, b: 30 },
      showlegend: true,
      legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0 },
      dragmode: "zoom",
      xaxis: { type: "date", rangeslider: { visible: false }, anchor: panes.length > 1 ? `y${panes.length}` : "y" },
    };
    let top = 1;
    panes.forEach((pane, index) => {
      const height = (weights[index] / total) * (1 - gap * (panes.length - 1));
      const name = index === 0 ? "yaxis" : `yaxis${index + 1}`;
      layout[name] = {
        domain: [Math.max(0, top - height), top],
        fixedrange: true,
        title: { text: pane === "price" ? this.dataset.symbol : pane, font: { size: 11 } },
      };
      top -= height + gap;
    });
    if (this.view) layout.xaxis.range = this.view;
    return layout;
  }

  async draw() {
    const { traces, panes } = this.traces();
    const started = performance.now();
    await window.Plotly.react(this.div, traces, this.layout(panes), { responsive: true, displaylogo: false });
    this.renderMs = performance.now() - started;
    this.renders += 1;
    if (this.renders === 1) {
      this.div.dataset.firstPaintMs = String(performance.now());
      this.div.on("plotly_relayout", (event) => this.onRelayout(event));
    }
    this.div.dataset.renders = String(this.renders);
    this.div.dataset.points = String(this.pointsHeld());
    this.div.dataset.sampleBy = this.sampleBy || "raw";
    this.onStatus(this);
  }

  onRelayout(event) {
    let range = null;
    if (event["xaxis.autorange"]) range = null;
    else if (event["xaxis.range[0]"] !== undefined) range = [event["xaxis.range[0]"], event["xaxis.range[1]"]];
    else if (Array.isArray(event["xaxis.range"])) range = event["xaxis.range"];
    else return;
    this.view = range ? [toDate(range[0]), toDate(range[1])] : null;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const fetchRange = this.view
        ? [this.view[0] / 1000, this.view[1] / 1000]
        : [this.first, this.last];
      const span = fetchRange[1] - fetchRange[0];
      this.load(fetchRange[0] - span * MARGIN, fetchRange[1] + span * MARGIN).catch((error) => console.error(error));
    }, 50); // one fetch for a burst of wheel-zoom events, short enough to stay inside a 300 ms step
  }

  dispose() {
    clearTimeout(this.timer);
    this.generation += 1;
    if (window.Plotly) window.Plotly.purge(this.div);
  }
}
