// Live events from GET /api/events (Server-Sent Events). The browser's EventSource is used whenever it can
// authenticate (auth off, or the session cookie); it cannot send a header, so with a token kept in this tab
// the same stream is read through fetch, which can. Both resume with Last-Event-ID.
import { storedToken } from "./api.js";

export function subscribe(types, onEvent) {
  const query = `?types=${encodeURIComponent(types.join(","))}`;
  if (!storedToken()) {
    const source = new EventSource(`/api/events${query}`);
    for (const type of types) source.addEventListener(type, (event) => onEvent(type, JSON.parse(event.data)));
    return { close: () => source.close() };
  }
  return fetchStream(`/api/events${query}`, onEvent);
}

function fetchStream(url, onEvent) {
  const controller = new AbortController();
  let lastId = null;
  let closed = false;

  function dispatch(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // keep-alive comment
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") lastId = value;
    }
    if (data.length) onEvent(type, JSON.parse(data.join("\n")));
  }

  async function run() {
    while (!closed) {
      try {
        const headers = { "X-Stage1-Token": storedToken() || "", Accept: "text/event-stream" };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const response = await fetch(url, { headers, signal: controller.signal });
        if (!response.ok) throw new Error(`events: HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replaceAll("\r\n", "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) !== -1) {
            dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch (error) {
        if (closed) return;
        console.warn("event stream interrupted, reconnecting", error.message);
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  run();
  return {
    close: () => {
      closed = true;
      controller.abort();
    },
  };
}
