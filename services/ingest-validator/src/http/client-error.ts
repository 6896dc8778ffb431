import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** What Node's HTTP parser reports (llhttp and http error codes) mapped to the API's status, error code and message. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request_header_fields_too_large', 'the request line and headers are above the 16 KiB limit (a path id this long cannot exist)'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request was not received in time'],
};
const MALFORMED: [number, string, string] = [400, 'bad_request', 'malformed HTTP request'];

/**
 * Answers requests that Node's HTTP parser refuses before Express sees them (a path or headers over the 16 KiB
 * `maxHeaderSize`, a malformed request line) with the API's JSON error shape instead of Node's bare status line.
 * Follows the `clientError` pattern of the Node.js http documentation: write a response when the socket is still
 * writable, otherwise destroy it.
 */
export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code, message] = (err.code && CLIENT_ERRORS[err.code]) || MALFORMED;
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
