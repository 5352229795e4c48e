// The price chart: candlesticks with volume, chosen indicators in bands below, a run's predictions and a
// simulation's trades as overlays (Lightweight Charts). Zoom and pan fetch the visible span again at the
// finest `sample_by` bucket that keeps it under MAX_BARS bars, so the page never holds more than a few
// thousand points.
import { get } from "./api.js";
import { ascendingUnique, bandMargins, baseOptions, heldSeries, lightweightCharts, toSeconds } from "./charts.js";
import { bucketFor, fetchAllPages, granularitySeconds } from "./util.js";

export const MAX_BARS = 1500;
const MAX_PREDICTIONS = 2000;
const MAX_MARKERS = 1000;
const MARGIN = 0.1; // fetch a little beyond the visible span so a short pan needs no new request
const USER_INPUT_MS = 400;
const COLORS = ["#2e90fa", "#f79009", "#12b76a", "#ee46bc", "#6172f3", "#15b79e"];

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
    this.view = null; // [fromSeconds, toSeconds] the user is looking at, null = everything
    this.bars = [];
    this.indicatorRows = [];
    this.predictions = [];
    this.sampleBy = null;
    this.generation = 0;
    this.renders = 0;
    this.timer = null;
    this.chart = null;
    this.series = new Map(); // pane name -> series
    this.scaleTimes = [];
    this.lastInput = -Infinity; // when the user last wheeled, dragged, touched or pressed a key on the chart
  }

  get first() {
    return this.dataset.ohlcv_first_ts;
  }

  get last() {
    return this.dataset.ohlcv_last_ts;
  }

  bucket(from, to) {
    return bucketFor(to - from, this.dataset.granularity, MAX_BARS);
  }

  // The network half of a load: what to show for [from, to]. Pages start it before their DOM is ready.
  async fetchWindow(fromSeconds, toSeconds) {
    const generation = ++this.generation;
    const started = performance.now();
    const from = Math.max(this.first, Math.floor(fromSeconds));
    const to = Math.min(this.last, Math.ceil(toSeconds));
    const sampleBy = this.bucket(from, to);
    const range = { from, to, format: "json", sample_by: sampleBy };
    const base = `/api/datasets/${encodeURIComponent(this.ref)}`;
    const [bars, indicatorRows, predictions] = await Promise.all([
      get(`${base}/ohlcv`, range),
      this.indicators.length ? get(`${base}/indicators`, { ...range, columns: this.indicators.join(",") }) : [],
      this.run ? get(`/api/runs/${this.run}/predictions`, { from, to, format: "json", limit: MAX_PREDICTIONS }) : [],
      lightweightCharts(), // loads in parallel with the first data, once
    ]);
    return { generation, bars, indicatorRows, predictions, sampleBy, window: [from, to], fetchMs: performance.now() - started };
  }

  // The drawing half: false when a newer load was started meanwhile (its answer wins).
  async show(frame) {
    if (frame.generation !== this.generation) return false;
    Object.assign(this, {
      bars: frame.bars,
      indicatorRows: frame.indicatorRows,
      predictions: frame.predictions,
      sampleBy: frame.sampleBy,
      window: frame.window,
      fetchMs: frame.fetchMs,
    });
    await this.draw();
    return true;
  }

  async load(fromSeconds, toSeconds) {
    return this.show(await this.fetchWindow(fromSeconds, toSeconds));
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
    return (this.div.data || []).reduce((sum, held) => sum + held.x.length, 0);
  }

  panes() {
    return ["price", "volume", ...this.indicators, ...(this.run ? ["prediction"] : [])];
  }

  // One chart for the page's life; the series follow the panes the user picks.
  ensureChart(panes) {
    const height = 380 + 90 * (panes.length - 1);
    if (!this.chart) {
      this.chart = window.LightweightCharts.createChart(this.div, { ...baseOptions(height), width: this.div.clientWidth });
      this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => this.onLogicalRangeChange(range));
      this.div.priceChart = this; // for the browser tests and the benchmark
      this.div.addEventListener("dblclick", () => this.resetView());
      const input = () => (this.lastInput = performance.now());
      for (const type of ["wheel", "mousedown", "mousemove", "touchstart", "touchmove", "keydown"]) {
        this.div.addEventListener(type, (event) => (type === "mousemove" && !event.buttons ? null : input()), {
          capture: true,
          passive: true,
        });
      }
      this.resize = new ResizeObserver(() => this.chart.applyOptions({ width: this.div.clientWidth }));
      this.resize.observe(this.div);
    } else {
      this.chart.applyOptions({ height });
    }
    for (const [name, series] of this.series) {
      if (!panes.includes(name)) {
        this.chart.removeSeries(series);
        this.series.delete(name);
      }
    }
    const margins = bandMargins(panes.map((pane) => (pane === "price" ? 3 : 1)));
    panes.forEach((pane, index) => {
      if (!this.series.has(pane)) this.series.set(pane, this.addSeries(pane, index));
      this.chart.priceScale(pane === "price" ? "right" : pane).applyOptions({ scaleMargins: margins[index] });
    });
  }

  addSeries(pane, index) {
    const chart = this.chart;
    if (pane === "price") {
      return chart.addCandlestickSeries({
        upColor: "#16a34a", downColor: "#dc2626", wickUpColor: "#16a34a", wickDownColor: "#dc2626", borderVisible: false,
      });
    }
    if (pane === "volume") {
      return chart.addHistogramSeries({ priceScaleId: "volume", color: "#98a2b3", priceFormat: { type: "volume" }, title: "volume" });
    }
    const color = pane === "prediction" ? "#7a5af8" : COLORS[index % COLORS.length];
    return chart.addLineSeries({ priceScaleId: pane, color, lineWidth: 1, title: pane, priceLineVisible: false });
  }

  draw() {
    const panes = this.panes();
    this.ensureChart(panes);
    const started = performance.now();
    const bars = ascendingUnique(
      this.bars.map((bar) => ({ time: toSeconds(bar.timestamp), open: bar.open, high: bar.high, low: bar.low, close: bar.close })),
    );
    const held = [["ohlc", bars.map((bar) => bar.time)]];
    this.series.get("price").setData(bars);
    const volume = ascendingUnique(this.bars.map((bar) => ({ time: toSeconds(bar.timestamp), value: bar.volume })));
    this.series.get("volume").setData(volume);
    held.push(["volume", volume.map((point) => point.time)]);
    for (const name of this.indicators) {
      const points = ascendingUnique(
        this.indicatorRows
          .filter((row) => row[name] !== null && row[name] !== undefined)
          .map((row) => ({ time: toSeconds(row.timestamp), value: row[name] })),
      );
      this.series.get(name).setData(points);
      held.push([`indicator:${name}`, points.map((point) => point.time)]);
    }
    if (this.run) {
      const points = ascendingUnique(
        this.predictions.map((row) => ({ time: toSeconds(row.timestamp), value: row.prediction })),
      );
      this.series.get("prediction").setData(points);
      held.push(["predictions", points.map((point) => point.time)]);
    }
    const seriesCount = held.length; // the markers below sit on bars; they add no time of their own
    const { entries, exits } = this.markers();
    this.series.get("price").setMarkers([...entries, ...exits].sort((a, b) => a.time - b.time));
    if (this.trades) held.push(["entries", entries.map((m) => m.time)], ["exits", exits.map((m) => m.time)]);
    // The time scale's bars: the union of every series' times, as the library indexes them.
    this.scaleTimes = [...new Set(held.slice(0, seriesCount).flatMap(([, times]) => times))].sort((a, b) => a - b);
    this.showView();
    this.div.data = heldSeries(held);
    return new Promise((resolve) =>
      requestAnimationFrame(() => {
        // The library paints on the next frame: count a render once it is on screen.
        this.renderMs = performance.now() - started;
        this.renders += 1;
        if (this.renders === 1) this.div.dataset.firstPaintMs = String(performance.now());
        this.div.dataset.renders = String(this.renders);
        this.div.dataset.points = String(this.pointsHeld());
        this.div.dataset.sampleBy = this.sampleBy || "raw";
        this.onStatus(this);
        resolve();
      }),
    );
  }

  markers() {
    if (!this.trades) return { entries: [], exits: [] };
    const [from, to] = this.window || [-Infinity, Infinity];
    const inWindow = (seconds) => seconds >= from && seconds <= to;
    const entries = this.trades
      .filter((trade) => inWindow(toSeconds(trade.entry_timestamp)))
      .slice(0, MAX_MARKERS)
      .map((trade) => ({
        time: toSeconds(trade.entry_timestamp),
        position: trade.side === "short" ? "aboveBar" : "belowBar",
        shape: trade.side === "short" ? "arrowDown" : "arrowUp",
        color: trade.side === "short" ? "#dc2626" : "#16a34a",
        id: `entry-${trade.trade_id}`,
      }));
    const exits = this.trades
      .filter((trade) => trade.exit_timestamp !== null && inWindow(toSeconds(trade.exit_timestamp)))
      .slice(0, MAX_MARKERS)
      .map((trade) => ({
        time: toSeconds(trade.exit_timestamp),
        position: "inBar",
        shape: "circle",
        color: "#101828",
        id: `exit-${trade.trade_id}`,
      }));
    return { entries, exits };
  }

  // Puts the user's view back after new data replaced the old (the library keeps bar indices, not times,
  // and settles the range over the next frame).
  showView() {
    const timeScale = this.chart.timeScale();
    const apply = () => {
      if (this.view) timeScale.setVisibleRange({ from: this.view[0], to: this.view[1] });
      else timeScale.fitContent();
    };
    apply();
    requestAnimationFrame(apply);
  }

  // The library reports every range change, its own settling included: only a change right after the
  // user's wheel, drag, touch or key is the user's. It counts in bars (logical indices), which may run past
  // the bars held when the user zooms out or pans off the edge: those are extrapolated at the bar step.
  onLogicalRangeChange(range) {
    if (!range || performance.now() - this.lastInput > USER_INPUT_MS || !this.scaleTimes.length) return;
    this.zoomTo(this.timeAt(range.from), this.timeAt(range.to), { move: false });
  }

  timeAt(index) {
    const times = this.scaleTimes;
    const last = times.length - 1;
    const step = granularitySeconds(this.sampleBy || this.dataset.granularity) || 60;
    if (index <= 0) return times[0] + index * step;
    if (index >= last) return times[last] + (index - last) * step;
    const whole = Math.floor(index);
    return times[whole] + (index - whole) * (times[whole + 1] - times[whole]);
  }

  // Show [from, to] (seconds) and fetch what that view needs; the tests and the benchmark zoom through here.
  // Resolves once the view is drawn: true when bars were fetched for it, false when the bars held did.
  zoomTo(from, to, { move = true } = {}) {
    this.view = [from, to];
    if (move) this.chart.timeScale().setVisibleRange({ from, to });
    clearTimeout(this.timer);
    return new Promise((resolve) => {
      this.timer = setTimeout(() => this.follow().then(resolve), 50); // one fetch for a burst of wheel events
    });
  }

  // Fetch again only when the view leaves the bars held or needs a finer (or coarser) bucket.
  follow() {
    const [from, to] = this.view;
    const span = to - from;
    const wanted = [from - span * MARGIN, to + span * MARGIN];
    const [heldFrom, heldTo] = this.window || [Infinity, -Infinity];
    const inside = from >= heldFrom && to <= heldTo;
    const clampedFrom = Math.max(this.first, Math.floor(wanted[0]));
    const clampedTo = Math.min(this.last, Math.ceil(wanted[1]));
    if (inside && this.bucket(clampedFrom, clampedTo) === this.sampleBy) return Promise.resolve(false);
    return this.load(wanted[0], wanted[1]).catch((error) => {
      console.error(error);
      return false;
    });
  }

  resetView() {
    this.view = null;
    this.loadAll().catch((error) => console.error(error));
  }

  dispose() {
    clearTimeout(this.timer);
    this.generation += 1;
    if (this.resize) this.resize.disconnect();
    if (this.chart) this.chart.remove();
    this.chart = null;
  }
}
