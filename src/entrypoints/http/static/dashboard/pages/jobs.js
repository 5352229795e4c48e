// Jobs: the list kept live by `job.updated` events, with progress, rows/s, ETA, cancel and retry.
import { get, post } from "../api.js";
import { ProgressTracker } from "../jobprogress.js";
import { subscribe } from "../live.js";
import { el, errorBox, fmtIso, shortId, statusBadge } from "../util.js";

export async function render(view) {
  const page = await get("/api/jobs", { limit: 100 });
  const jobs = new Map(page.jobs.map((job) => [job.job_id, job]));
  const tracker = new ProgressTracker();
  const tbody = el("tbody");
  const messages = el("div");
  const table = el(
    "table",
    { class: "grid", id: "jobs-table" },
    el(
      "thead",
      {},
      el("tr", {}, ["Job", "Type", "Status", "Attempts", "Progress", "", "Rows/s", "ETA", "Message", "Created (UTC)", ""].map((h) => el("th", {}, h))),
    ),
    tbody,
  );
  const live = el("span", { class: "muted", id: "jobs-live" }, "connecting…");
  view.replaceChildren(el("h1", {}, "Jobs ", live), messages, table);

  async function act(job, verb) {
    try {
      const updated = await post(`/api/jobs/${job.job_id}/${verb}`);
      if (updated && updated.job_id) upsert(updated);
    } catch (error) {
      messages.replaceChildren(errorBox(error));
    }
  }

  function row(job) {
    const cells = tracker.cells(job);
    const canCancel = job.status === "PENDING" || job.status === "RUNNING";
    const canRetry = job.status === "FAILED" || job.status === "CANCELLED";
    return el(
      "tr",
      { "data-job-id": job.job_id, "data-status": job.status },
      el("td", { class: "mono" }, shortId(job.job_id)),
      el("td", {}, job.type),
      el("td", {}, statusBadge(job.status)),
      el("td", { class: "num attempts" }, `${job.attempts}/${job.max_attempts}`),
      el("td", {}, cells.bar),
      el("td", { class: "num progress-text" }, cells.progressText),
      el("td", { class: "num rate" }, cells.rateText),
      el("td", { class: "num eta" }, cells.etaText),
      el("td", {}, job.error || job.message || ""),
      el("td", {}, fmtIso(job.created_at)),
      el(
        "td",
        {},
        canCancel ? el("button", { class: "cancel", onclick: () => act(job, "cancel") }, "Cancel") : "",
        canRetry ? el("button", { class: "retry", onclick: () => act(job, "retry") }, "Retry") : "",
      ),
    );
  }

  function draw() {
    const ordered = [...jobs.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
    tbody.replaceChildren(...ordered.map(row));
    view.dataset.rows = String(ordered.length);
  }

  function upsert(job) {
    const known = jobs.get(job.job_id);
    if (known && known.updated_at > job.updated_at) return; // an older event arriving late
    tracker.observe(job);
    jobs.set(job.job_id, job);
    draw();
  }

  for (const job of jobs.values()) tracker.observe(job);
  draw();
  const stream = subscribe(["job.updated"], (_type, job) => {
    live.textContent = "live";
    upsert(job);
  });
  live.textContent = "live";
  return { dispose: () => stream.close() };
}
