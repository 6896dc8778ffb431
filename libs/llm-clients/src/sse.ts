import { createParser, type EventSourceParser, type ParseError } from 'eventsource-parser';

/** One Server-Sent Event (only the fields OpenAI-compatible servers use). */
export interface SseEvent {
  event: string | undefined;
  /** Data lines joined with `\n`. */
  data: string;
}

/**
 * Incremental Server-Sent Events parser over bytes, on eventsource-parser (the WHATWG event-stream rules: lines end
 * with LF, CR or CRLF, `:` lines are comments, an event is dispatched at a blank line, a leading BOM is dropped). This
 * wrapper adds what a streaming HTTP client needs around it: UTF-8 decoding of chunks split inside a multi-byte
 * character, events returned per chunk, a lenient end (a last event without its blank line is still delivered), and a
 * bound on buffered text so a broken server cannot exhaust memory.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly parser: EventSourceParser;
  private out: SseEvent[] = [];
  private failure: ParseError | undefined;

  /** @param maxLineChars most characters buffered for an unfinished line or event; beyond it `push` throws RangeError. */
  constructor(private readonly maxLineChars = 16 * 1024 * 1024) {
    this.parser = createParser({
      maxBufferSize: maxLineChars,
      onEvent: (e) => this.out.push({ event: e.event, data: e.data }),
      onError: (err) => (this.failure = err),
    });
  }

  /**
   * Feeds bytes (or text); returns the events completed by them.
   * @throws RangeError when the stream buffers more than `maxLineChars` characters without completing an event.
   */
  push(chunk: Uint8Array | string): SseEvent[] {
    return this.take(() => this.parser.feed(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })));
  }

  /** Ends the stream; returns a last event whose terminating blank line never came (lenient). */
  end(): SseEvent[] {
    return this.take(() => {
      const rest = this.decoder.decode();
      if (rest.length > 0) this.parser.feed(rest);
      // A final `data:` line without its blank line: end the line, then the event, so it is dispatched.
      this.parser.feed('\n\n');
      this.parser.reset({ consume: true });
    });
  }

  private take(feed: () => void): SseEvent[] {
    if (this.failure) throw new RangeError(`SSE stream unusable: ${this.failure.message}`);
    feed();
    const failure = this.failure as ParseError | undefined; // set by onError during feed()
    if (failure) throw new RangeError(`SSE line longer than ${this.maxLineChars} characters (${failure.message})`);
    const out = this.out;
    this.out = [];
    return out;
  }
}
