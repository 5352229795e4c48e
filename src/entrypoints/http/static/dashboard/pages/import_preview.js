// A dry run's answer drawn for a person: what the import would write, where bars are missing, which rows
// would be skipped. Nothing has been written when this shows.
import { el, fmtDate, keyValues } from "../util.js";

const when = (ts) => (ts === null || ts === undefined ? "–" : `${fmtDate(ts)} UTC`);
const count = (n) => Number(n || 0).toLocaleString("en-US");

function table(id, headers, rows) {
  return el(
    "table",
    { class: "grid", id },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))),
  );
}

function gapsView(gaps) {
  if (!gaps) return el("p", { class: "muted", id: "import-preview-gaps", "data-gap-count": "" }, "Gaps not measured: give a granularity (bars only).");
  const summary = gaps.count
    ? `${count(gaps.count)} gaps, ${count(gaps.missing_bars)} missing bars at ${count(gaps.interval_s)} s bars`
    : `No gaps at ${count(gaps.interval_s)} s bars`;
  return el(
    "div",
    { id: "import-preview-gaps", "data-gap-count": String(gaps.count), "data-missing-bars": String(gaps.missing_bars) },
    el("p", {}, el("strong", {}, summary)),
    gaps.largest.length
      ? table("import-preview-gap-table", ["after", "before", "missing bars"], gaps.largest.map((g) => [when(g.after_ts), when(g.before_ts), count(g.missing_bars)]))
      : "",
  );
}

export function previewView(preview) {
  const rejected = preview.rejected || [];
  return el(
    "div",
    { class: "card", id: "import-preview-result", "data-rows": String(preview.rows) },
    el("h2", {}, `Preview of ${preview.measurement} — nothing written yet`),
    keyValues([
      ["rows", count(preview.rows), { id: "import-preview-rows" }],
      ["from", when(preview.first_ts)],
      ["to", when(preview.last_ts)],
      ["repeated timestamps", count(preview.duplicate_timestamps)],
      ["rejected rows", count(preview.rejected_rows)],
    ]),
    table("import-preview-columns", ["column", "type", "nulls"], preview.columns.map((c) => [c.name, c.type, count(preview.nulls[c.name])])),
    gapsView(preview.gaps),
    rejected.length ? el("h3", {}, `Rows that would be skipped (first ${rejected.length} of ${count(preview.rejected_rows)})`) : "",
    rejected.length
      ? table("import-preview-rejected", ["row", "line", "column", "reason"], rejected.map((r) => [String(r.row ?? "–"), String(r.line ?? "–"), r.column || "", r.reason]))
      : "",
  );
}
