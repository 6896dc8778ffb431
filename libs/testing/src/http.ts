/**
 * A caller of a JSON HTTP API (the ingest-validator's /v1/...) as one tenant: `(method, path, body?)` fetches
 * `baseUrl() + path` with bearer `key`, sending `body` as JSON when given. `baseUrl` is read at every call, since a
 * spec learns the API's URL only once the service runs.
 */
export const bearerJsonApi =
  (baseUrl: () => string, key: string) =>
  (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${baseUrl()}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
