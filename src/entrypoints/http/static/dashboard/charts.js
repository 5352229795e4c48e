// The two chart libraries, both served by this service from PyPI wheels (no CDN):
// - TradingView Lightweight Charts (the `lightweight-charts` wheel) for every time series: 160 KB that
//   evaluates in milliseconds, so the price chart paints well inside its budget;
// - Plotly.js (the `plotly` wheel) for the category charts of the compare page only. It is 4.8 MB and takes
//   seconds to evaluate, so it is loaded on first use instead of by every page.

const loading = new Map();

function loadScript(src) {
  if (!loading.has(src)) {
    loading.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = () => reject(new Error(`could not load ${src}`));
        document.head.append(script);
      }),
    );
  }
  return loading.get(src);
}

export async function plotly() {
  await loadScript("/vendor/plotly.min.js");
  return window.Plotly;
}

export async function lightweightCharts() {
  await loadScript("/vendor/lightweight-charts.js");
  return window.LightweightCharts;
}

export const toSeconds = (ms) => Math.floor(ms / 1000);

// Lightweight Charts wants strictly ascending, unique times per series: keep the last point of each second.
export function ascendingUnique(points) {
  const out = [];
  for (const point of points) {
    if (out.length && out[out.length - 1].time === point.time) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

// Panes stacked in one chart: every pane is a price scale with its own vertical band.
export function bandMargins(weights, gap = 0.04) {
  const total = weights.reduce((a, b) => a + b, 0);
  const usable = 1 - gap * (weights.length - 1);
  let top = 0;
  return weights.map((weight) => {
    const height = (weight / total) * usable;
    const margins = { top, bottom: Math.max(0, 1 - top - height) };
    top += height + gap;
    return margins;
  });
}

export function baseOptions(height) {
  return {
    height,
    autoSize: false,
    layout: { background: { color: "#ffffff" }, textColor: "#344054", fontSize: 11 },
    grid: { vertLines: { color: "#f2f4f7" }, horzLines: { color: "#f2f4f7" } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#d0d5dd" },
    rightPriceScale: { borderColor: "#d0d5dd" },
    crosshair: { mode: 0 },
  };
}

// What a chart holds, read back from the library's own series, under the names the tests and the status
// line use: [{meta, x: [ms...]}].
export function heldSeries(entries) {
  return entries.map(([meta, times]) => ({ meta, x: times.map((time) => time * 1000) }));
}
