// Server-Sent Events over fetch rather than EventSource, which cannot send an Authorization header: with anonymous
// reads off, the streams need the token like any other read. Reconnects as EventSource would, with Last-Event-ID,
// until the stream's `end` event or until the caller aborts.

import { headers } from './api.js';

const RETRY_MS = 1000;

/**
 * Follows the stream at `path`, calling onEvent({event, data, id}) for each event, `message` for those without a
 * name. Returns a function that stops it.
 */
export function follow(path, onEvent, onError = () => {}) {
  const abort = new AbortController();
  let lastId = null;
  let ended = false;

  const dispatch = (event) => {
    if (event.id !== null) {
      lastId = event.id;
    }
    if (event.event === 'end') {
      ended = true;
    }
    onEvent(event);
  };

  (async () => {
    while (!ended && !abort.signal.aborted) {
      try {
        const extra = { Accept: 'text/event-stream' };
        if (lastId !== null) {
          extra['Last-Event-ID'] = lastId;
        }
        const response = await fetch(path, { headers: headers(extra), signal: abort.signal, cache: 'no-store' });
        if (!response.ok) {
          onError(response.status);
          if (response.status >= 400 && response.status < 500) {
            return; // the job is gone or the token is refused: retrying will not help
          }
        } else {
          await readEvents(response.body, dispatch, () => ended);
        }
      } catch (e) {
        if (abort.signal.aborted) {
          return;
        }
        onError(e);
      }
      if (!ended && !abort.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  })();

  return () => abort.abort();
}

/** The text/event-stream format: field lines, an empty line ends an event. */
async function readEvents(body, dispatch, isEnded) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = blank();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (event.data.length > 0) {
          dispatch({ event: event.event || 'message', data: event.data.join('\n'), id: event.id });
        }
        event = blank();
        if (isEnded()) {
          await reader.cancel();
          return;
        }
        continue;
      }
      if (line.startsWith(':')) {
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) {
        value = value.slice(1);
      }
      if (field === 'data') {
        event.data.push(value);
      } else if (field === 'event') {
        event.event = value;
      } else if (field === 'id') {
        event.id = value;
      }
    }
  }
}

function blank() {
  return { event: '', data: [], id: null };
}
