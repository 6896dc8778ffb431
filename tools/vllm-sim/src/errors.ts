/** An error answered to the client as OpenAI-style JSON: `{"error": {"message", "type", "code", "param"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get type(): string {
    return errorType(this.status);
  }

  toJSON(): { error: { message: string; type: string; code: string; param: string | null } } {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

/** OpenAI error `type` for an HTTP status. */
export function errorType(status: number): string {
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'service_unavailable_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export const badRequest = (message: string, param: string | null = null, code = 'invalid_request'): ApiError => new ApiError(400, message, code, param);

/** Shortens and quotes untrusted text for error messages. */
export function quote(value: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  if (s.length > max) s = `${s.slice(0, max)}…`;
  return JSON.stringify(s);
}
