import { ExponentialBackoff, handleAll, retry } from 'cockatiel';

/** Job states after which a job never changes (the ingest-validator's job API). */
export const TERMINAL_JOB_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** A job as `GET /v1/jobs/:id` returns it (the fields the tools read). */
export interface JobView {
  id: string;
  status: string;
  result: {
    text?: string;
    tier?: string;
    route?: string | null;
    finish_reason?: string;
    policy_version?: number | null;
    decision_reasons?: string[];
    retrieved_document_ids?: string[];
    prompt_tokens?: number;
    completion_tokens?: number;
  } | null;
  error: { code?: string; message?: string } | null;
}

/** What became of one submitted job, client side. */
export interface JobOutcome {
  /** The job id, null when the submit failed. */
  jobId: string | null;
  /** The final state, `not_final` when the deadline passed first, `submit_error` when the submit failed. */
  status: string;
  job: JobView | null;
  /** `code: message` of a failed job, or the submit error; null otherwise. */
  error: string | null;
  /** Epoch ms of the submit and of the poll that saw the final state (client side; polls are 250 ms to 2 s apart). */
  submittedAt: number;
  finalSeenAt: number | null;
}

/** Submit retries on a connection error or a 5xx: 4 attempts, exponential backoff from 500 ms (cockatiel). */
const submitRetry = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 500, maxDelay: 8_000 }) });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Submits a job (`POST {api}/v1/jobs` with `body`, bearer `apiKey`) and polls `GET {api}/v1/jobs/:id` with a growing
 * interval (250 ms → 2 s: real models answer in seconds, the simulator in milliseconds) until it is final or `deadline`
 * (epoch ms) passes. Give the body an `idempotency_key`: a submit retried after a connection error or a 5xx then returns
 * the job already created. A poll that fails (the API restarting) counts as "not final yet". Never throws: a failed
 * submit is `status: 'submit_error'` with the reason.
 */
export async function submitAndWait(api: string, apiKey: string, body: Record<string, unknown>, deadline: number): Promise<JobOutcome> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  const submittedAt = Date.now();
  let created: { id?: string; error?: unknown };
  try {
    created = await submitRetry.execute(async () => {
      const r = await fetch(`${api}/v1/jobs`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (r.status >= 500) throw new Error(`HTTP ${r.status}`);
      const json = (await r.json()) as { id?: string; error?: unknown };
      if (r.status !== 202 && r.status !== 200) return { error: `HTTP ${r.status} ${JSON.stringify(json).slice(0, 300)}` };
      return json;
    });
  } catch (err) {
    created = { error: (err as Error).message };
  }
  if (!created.id) return { jobId: null, status: 'submit_error', job: null, error: String(created.error), submittedAt, finalSeenAt: null };
  for (let wait = 250; Date.now() < deadline; wait = Math.min(2_000, wait * 1.5)) {
    const res = await fetch(`${api}/v1/jobs/${created.id}`, { headers }).catch(() => undefined);
    if (res?.ok) {
      const job = (await res.json()) as JobView;
      if (TERMINAL_JOB_STATES.has(job.status))
        return {
          jobId: created.id,
          status: job.status,
          job,
          error: job.error ? `${job.error.code ?? '?'}: ${job.error.message ?? ''}` : null,
          submittedAt,
          finalSeenAt: Date.now(),
        };
    }
    await pause(wait);
  }
  return { jobId: created.id, status: 'not_final', job: null, error: null, submittedAt, finalSeenAt: null };
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, as a submitter with a quota of open jobs would. Written
 * here rather than taken from a library: a dozen lines, no ordering, no cancellation needed.
 */
export async function workerPool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
