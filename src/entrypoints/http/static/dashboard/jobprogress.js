// A job's progress bar, rows/s and ETA, computed from the successive progress values the stream reports.
import { el } from "./util.js";

export class ProgressTracker {
  constructor() {
    this.samples = new Map(); // job_id -> [{t, progress}]
  }

  observe(job) {
    const now = performance.now();
    const list = this.samples.get(job.job_id) || [];
    if (!list.length || list[list.length - 1].progress !== job.progress) list.push({ t: now, progress: job.progress || 0 });
    while (list.length > 2 && now - list[0].t > 10_000) list.shift(); // rate over the last ~10 s
    this.samples.set(job.job_id, list);
  }

  rate(job) {
    const list = this.samples.get(job.job_id) || [];
    if (job.status !== "RUNNING" || list.length < 2) return null;
    const first = list[0];
    const last = list[list.length - 1];
    const seconds = (last.t - first.t) / 1000;
    return seconds > 0 ? (last.progress - first.progress) / seconds : null;
  }

  cells(job) {
    const progress = job.progress || 0;
    const known = job.total !== null && job.total !== undefined && job.total > 0;
    const done = job.status === "COMPLETED";
    const percent = done ? 100 : known ? Math.min(100, (100 * progress) / job.total) : 0;
    const bar = el(
      "span",
      {
        class: `progress ${!known && job.status === "RUNNING" ? "indeterminate" : ""}`,
        role: "progressbar",
        "data-progress": String(progress),
        "aria-valuenow": String(progress),
        "aria-valuemax": known ? String(job.total) : undefined,
        title: known ? `${progress} / ${job.total}` : `${progress} (the job reports no total)`,
      },
      el("span", { style: `width: ${percent}%` }),
    );
    const rate = this.rate(job);
    const eta = rate && known ? Math.max(0, (job.total - progress) / rate) : null;
    return {
      bar,
      progressText: known ? `${progress.toLocaleString("en-US")} / ${job.total.toLocaleString("en-US")}` : progress.toLocaleString("en-US"),
      rateText: rate === null ? "" : `${Math.round(rate).toLocaleString("en-US")}/s`,
      etaText: eta === null ? (job.status === "RUNNING" && !known ? "no total" : "") : `${Math.ceil(eta)} s`,
    };
  }
}
