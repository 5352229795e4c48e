// Import: drop a CSV / CSV.gz / Parquet / Arrow file, preview it (a dry run: columns, rows, gaps, rejected
// rows; nothing is written), then upload it as a job (POST /api/questdb/import/async) and watch its progress.
import { capabilities, get, request } from "../api.js";
import { ProgressTracker } from "../jobprogress.js";
import { subscribe } from "../live.js";
import { el, errorBox, fmtDate, fmtValue, gap, keyValues, statusBadge } from "../util.js";
import { previewView } from "./import_preview.js";

const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

function measurementFrom(filename) {
  const stem = filename.replace(/\.(csv|csv\.gz|gz|parquet|arrow|feather|ipc)$/i, "").toLowerCase();
  const cleaned = stem.replace(/[^a-z0-9_]+/g, "_").replace(/^[^a-z]+/, "");
  return (cleaned || "imported").slice(0, 127);
}

export async function render(view) {
  const caps = await capabilities();
  let file = null;
  const fileInput = el("input", { type: "file", id: "import-file", accept: ".csv,.gz,.parquet,.arrow,.feather,.ipc" });
  const zone = el("div", { class: "dropzone", id: "dropzone" }, "Drop a CSV, CSV.gz, Parquet or Arrow file here, or ", fileInput);
  const measurement = el("input", { type: "text", id: "import-measurement", placeholder: "measurement name" });
  const kind = el("select", { id: "import-kind" }, ["generic", "ohlcv", "indicators", "predictions", "trades"].map((k) => el("option", { value: k }, k)));
  const mode = el("select", { id: "import-mode" }, ["append", "replace"].map((m) => el("option", { value: m }, m)));
  const onError = el("select", { id: "import-on-error" }, ["fail", "skip"].map((m) => el("option", { value: m }, m)));
  const granularity = el("input", { type: "text", id: "import-granularity", placeholder: "e.g. 1h", size: 6 });
  const upload = el("button", { class: "primary", id: "import-upload", disabled: true }, "Upload as a job");
  const preview = el("button", { id: "import-preview", disabled: true }, "Preview (dry run)");
  const chosen = el("span", { class: "muted", id: "import-chosen" }, "no file chosen");
  const out = el("div", { id: "import-result" });

  function choose(picked) {
    file = picked;
    chosen.textContent = `${file.name} · ${(file.size / 1024).toFixed(1)} KiB`;
    if (!measurement.value) measurement.value = measurementFrom(file.name);
    upload.disabled = false;
    preview.disabled = !caps.importDryRun;
  }
  fileInput.addEventListener("change", () => fileInput.files[0] && choose(fileInput.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files[0]) choose(event.dataTransfer.files[0]);
  });

  function form() {
    const body = new FormData();
    body.append("file", file, file.name);
    return body;
  }
  const query = () => ({ measurement: measurement.value.trim(), kind: kind.value, mode: mode.value, on_error: onError.value });

  let stream = null;
  upload.addEventListener("click", async () => {
    upload.disabled = true;
    out.replaceChildren(el("p", { class: "muted" }, "Uploading…"));
    try {
      const accepted = await request("POST", "/api/questdb/import/async", { query: query(), body: form() });
      watch(accepted.job_id);
    } catch (error) {
      out.replaceChildren(errorBox(error));
      upload.disabled = false;
    }
  });
  preview.addEventListener("click", async () => {
    preview.disabled = true;
    out.replaceChildren(el("p", { class: "muted" }, "Checking the file (nothing is written)…"));
    try {
      const dry = { ...query(), dry_run: "true" };
      if (granularity.value.trim()) dry.granularity = granularity.value.trim();
      const result = await request("POST", "/api/questdb/import", { query: dry, body: form() });
      out.replaceChildren(previewView(result));
    } catch (error) {
      out.replaceChildren(errorBox(error));
    } finally {
      preview.disabled = false;
    }
  });

  function watch(jobId) {
    const tracker = new ProgressTracker();
    const box = el("div", { class: "card", id: "import-job", "data-job-id": jobId });
    out.replaceChildren(box);
    const show = (job) => {
      tracker.observe(job);
      const cells = tracker.cells(job);
      box.dataset.status = job.status;
      box.replaceChildren(
        el("div", { class: "row" }, el("strong", {}, "Job "), el("a", { href: "#/jobs", class: "mono" }, jobId), statusBadge(job.status)),
        el("div", { class: "row" }, cells.bar, el("span", {}, `${cells.progressText} rows`), el("span", {}, cells.rateText), el("span", {}, cells.etaText ? `ETA ${cells.etaText}` : "")),
        el("div", { class: "muted" }, job.error || job.message || ""),
        job.result ? keyValues(Object.entries(job.result).map(([k, v]) => [k, k.endsWith("_ts") ? `${fmtDate(v)} UTC` : fmtValue(v)])) : "",
      );
      if (FINAL.has(job.status)) {
        upload.disabled = false;
        if (stream) stream.close();
      }
    };
    stream = subscribe(["job.updated"], (_type, job) => job.job_id === jobId && show(job));
    // The job may have moved before the stream opened: read it once too.
    get(`/api/jobs/${jobId}`).then(show).catch((error) => out.append(errorBox(error)));
  }

  view.replaceChildren(
    el("h1", {}, "Import"),
    zone,
    el(
      "div",
      { class: "row card" },
      chosen,
      el("label", {}, "Measurement ", measurement),
      el("label", {}, "Kind ", kind),
      el("label", {}, "Mode ", mode),
      el("label", { title: "skip: import the good rows and list the bad ones" }, "Bad rows ", onError),
      el("label", { title: "bar length the preview measures gaps against" }, "Granularity ", granularity),
      preview,
      upload,
    ),
    // An older server without `dry_run` keeps the Preview button off.
    caps.importDryRun ? "" : gap("the import preview (dry_run=true) — this server does not offer it."),
    out,
  );
  return { dispose: () => stream && stream.close() };
}
