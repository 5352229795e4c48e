// Small DOM and formatting helpers shared by the pages.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Labelled values as a definition list; a pair is [label, value] or [label, value, attributes of the value].
export function keyValues(pairs) {
  return el("dl", { class: "kv" }, pairs.flatMap(([label, value, attrs = {}]) => [el("dt", {}, label), el("dd", attrs, value)]));
}

// A feature the service does not offer yet: shown, never faked.
export function gap(text) {
  return el("div", { class: "gap", "data-gap": "" }, text);
}

export function errorBox(error) {
  const details = error && error.details ? ` — ${JSON.stringify(error.details)}` : "";
  return el("div", { class: "error", role: "alert" }, `${error.message || error}${details}`);
}

export function fmtNumber(value, digits = 4) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function fmtDate(epochSeconds) {
  if (epochSeconds === null || epochSeconds === undefined) return "";
  return new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

export function fmtIso(iso) {
  return iso ? iso.slice(0, 19).replace("T", " ") : "";
}

export function fmtValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return typeof value === "number" ? fmtNumber(value) : String(value);
}

export function statusBadge(status) {
  return el("span", { class: `status ${status}` }, status);
}

// A record trained or simulated on rows that have changed since: the reason names both versions.
export function staleBadge(record) {
  return record.stale ? el("span", { class: "stale", title: record.stale_reason || "" }, "stale") : "";
}

export function shortId(id) {
  return id ? id.slice(0, 8) : "";
}

// A table whose columns sort on click. columns: [{key, label, value(row), render(row), num}]
// With onSort the server orders the rows: a click asks for the new order instead of sorting here.
export function sortableTable(columns, rows, { id, initialSort, rowAttrs, onSort } = {}) {
  const table = el("table", { class: "grid", id });
  let sort = initialSort || null;
  const thead = el("thead");
  const tbody = el("tbody");
  table.append(thead, tbody);

  function compare(a, b) {
    const column = columns.find((c) => c.key === sort.key);
    const va = column.value ? column.value(a) : a[column.key];
    const vb = column.value ? column.value(b) : b[column.key];
    const missingA = va === null || va === undefined;
    const missingB = vb === null || vb === undefined;
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1; // nulls last both ways
    const order = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
    return sort.dir === "asc" ? order : -order;
  }

  function draw() {
    thead.replaceChildren(
      el(
        "tr",
        {},
        columns.map((column) =>
          el(
            "th",
            {
              class: [
                column.sortable === false ? "" : "sortable",
                column.num ? "num" : "",
                sort && sort.key === column.key ? `sorted-${sort.dir}` : "",
              ].join(" "),
              "data-key": column.key,
              onclick:
                column.sortable === false
                  ? undefined
                  : () => {
                      sort = { key: column.key, dir: sort && sort.key === column.key && sort.dir === "desc" ? "asc" : "desc" };
                      if (onSort) onSort(sort);
                      else draw();
                    },
            },
            column.label,
          ),
        ),
      ),
    );
    const ordered = sort && !onSort ? [...rows].sort(compare) : rows;
    tbody.replaceChildren(
      ...ordered.map((row) =>
        el(
          "tr",
          rowAttrs ? rowAttrs(row) : {},
          columns.map((column) =>
            el("td", { class: column.num ? "num" : "" }, column.render ? column.render(row) : fmtValue(row[column.key])),
          ),
        ),
      ),
    );
  }
  draw();
  return table;
}

// Finer and coarser `sample_by` buckets, in seconds, that the store understands as granularities.
export const BUCKETS = [
  [60, "1m"], [300, "5m"], [900, "15m"], [1800, "30m"], [3600, "1h"], [7200, "2h"], [14400, "4h"],
  [21600, "6h"], [43200, "12h"], [86400, "1d"], [172800, "2d"], [604800, "7d"], [2592000, "30d"],
];

export function granularitySeconds(granularity) {
  const match = /^(\d+)([smhdwM])$/.exec(granularity || "");
  if (!match) return null;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000 }[match[2]];
  return Number(match[1]) * unit;
}

// The coarsest-needed bucket that keeps a span under `maxPoints` bars; null when raw bars already fit.
export function bucketFor(spanSeconds, granularity, maxPoints) {
  const bar = granularitySeconds(granularity) || 60;
  if (spanSeconds / bar <= maxPoints) return null;
  const needed = spanSeconds / maxPoints;
  const hit = BUCKETS.find(([seconds]) => seconds >= needed && seconds > bar);
  return hit ? hit[1] : BUCKETS[BUCKETS.length - 1][1];
}

export async function fetchAllPages(fetchPage, key, max) {
  const items = [];
  let after = null;
  do {
    const page = await fetchPage(after);
    items.push(...page[key]);
    after = page.next_cursor;
  } while (after && items.length < max);
  return { items: items.slice(0, max), truncated: Boolean(after) };
}
