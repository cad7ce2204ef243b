// Live updates: the CSMS's server-sent event stream when it has one, else polling.
//
// Pages do not patch themselves from event payloads: an event only says "something changed",
// and the page re-reads what it shows from the API (throttled). The page therefore shows the
// stored truth, whatever the stream's event format, and a missed event costs nothing once the
// next one arrives. Without the stream (an older CSMS, a proxy that buffers it) the same
// listeners are called every few seconds.

import { streamUrl } from "./api.js";

const STREAM_PATH = "/events/stream";
const POLL_MS = 3000;
const RETRY_STREAM_MS = 30000;

// The stream's event types (`event:` lines; docs/alerts.md "Live event stream"); unnamed events
// arrive as "message". "overflow" means the stream ended because this page fell behind:
// EventSource reconnects by itself and the page re-reads everything.
export const EVENT_NAMES = [
  "message", "overflow",
  "station.connected", "station.disconnected", "station.boot", "connector.status",
  "session.started", "session.updated", "session.ended", "meter.values",
  "alert.raised", "alert.repeated", "alert.acknowledged", "alert.resolved",
  "job.updated", "security.event", "monitor.event", "local_list.sync",
];

export class Live {
  constructor({ onMode = () => {} } = {}) {
    this.listeners = new Set();
    this.onMode = onMode;
    this.source = null;
    this.pollTimer = null;
    this.retryTimer = null;
    this.mode = "off";
  }

  /** Call `listener(event)` on every change; returns the function that unsubscribes. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    this.stop();
    this.openStream();
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.pollTimer = this.retryTimer = null;
    this.setMode("off");
  }

  setMode(mode) {
    if (this.mode === mode) return;
    this.mode = mode;
    this.onMode(mode);
  }

  emit(event) {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error("live listener failed", error);
      }
    }
  }

  openStream() {
    if (typeof EventSource === "undefined") {
      this.startPolling();
      return;
    }
    let opened = false;
    const source = new EventSource(streamUrl(STREAM_PATH));
    this.source = source;
    source.onopen = () => {
      opened = true;
      clearInterval(this.pollTimer);
      this.pollTimer = null;
      this.setMode("stream");
      this.emit({ type: "reconnected" }); // anything may have changed while away
    };
    const handle = (message) => {
      let data = null;
      try {
        data = message.data ? JSON.parse(message.data) : null;
      } catch {
        data = message.data;
      }
      // The stream's JSON is {id, type, at, station_id, data}: pass the station along so a
      // page about one station ignores the others' events.
      this.emit({ type: message.type, stationId: data?.station_id ?? null, data });
    };
    for (const name of EVENT_NAMES) source.addEventListener(name, handle);
    source.onerror = () => {
      // EventSource retries by itself after a dropped stream; it gives up (CLOSED) when the
      // endpoint answers anything but a 200 event stream, e.g. 404 on a CSMS without it.
      if (source.readyState === EventSource.CLOSED || !opened) {
        source.close();
        if (this.source === source) this.source = null;
        this.startPolling();
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (this.mode === "polling") this.openStream();
        }, RETRY_STREAM_MS);
      } else {
        this.setMode("reconnecting");
      }
    };
  }

  startPolling() {
    if (this.pollTimer) return;
    this.setMode("polling");
    this.pollTimer = setInterval(() => this.emit({ type: "poll" }), POLL_MS);
  }
}

/**
 * Run `work` at most once per `ms`, and once more after the last call of a burst, never two at
 * once: a page refreshes on every event without flooding the API when a fleet is busy.
 */
export function throttle(work, ms = 1000) {
  let last = 0;
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await work();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  schedule.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return schedule;
}
