/** One Server-Sent Event (only the fields OpenAI-compatible servers use). */
export interface SseEvent {
  event: string | undefined;
  /** Data lines joined with `\n`. */
  data: string;
}

/**
 * Incremental Server-Sent Events parser (WHATWG event-stream rules): bytes may be split anywhere — inside a line, a
 * CRLF pair or a multi-byte UTF-8 character. Lines end with LF, CR or CRLF; `:` lines are comments; an event is
 * dispatched at a blank line.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private pendingCr = false;
  private data: string[] = [];
  private event: string | undefined;
  private firstChunk = true;

  /** @param maxLineChars longest line accepted (characters); a longer one throws, so a broken server cannot exhaust memory. */
  constructor(private readonly maxLineChars = 16 * 1024 * 1024) {}

  /** Feeds bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.firstChunk && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.firstChunk = false;
    }
    return this.consume(text);
  }

  /** Ends the stream; returns a last event whose terminating blank line never came (lenient). */
  end(): SseEvent[] {
    const out = this.consume(this.decoder.decode());
    if (this.buffer.length > 0) {
      this.line(this.buffer, out);
      this.buffer = '';
    }
    if (this.data.length > 0) this.dispatch(out);
    return out;
  }

  private consume(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    if (this.pendingCr && text.startsWith('\n')) start = 1; // second half of a CRLF split across chunks
    this.pendingCr = false;
    let buf = this.buffer + text.slice(start);
    let i = 0;
    for (;;) {
      const lf = buf.indexOf('\n', i);
      const cr = buf.indexOf('\r', i);
      let end: number;
      if (lf < 0 && cr < 0) break;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        end = cr;
        if (cr === buf.length - 1) {
          // CR at the end: the LF of a CRLF may come with the next chunk.
          this.line(buf.slice(i, end), out);
          this.pendingCr = true;
          i = buf.length;
          break;
        }
        this.line(buf.slice(i, end), out);
        i = buf[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else {
        end = lf;
        this.line(buf.slice(i, end), out);
        i = lf + 1;
      }
    }
    buf = buf.slice(i);
    if (buf.length > this.maxLineChars) throw new RangeError(`SSE line longer than ${this.maxLineChars} characters`);
    this.buffer = buf;
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }

  private dispatch(out: SseEvent[]): void {
    if (this.data.length > 0) out.push({ event: this.event, data: this.data.join('\n') });
    this.data = [];
    this.event = undefined;
  }
}
