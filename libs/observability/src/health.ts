/** A named dependency check; resolves when the dependency answers, throws otherwise. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

/**
 * Collects readiness checks from adapters (Kafka, registry, Postgres, Redis, ...).
 * A service is ready only when every check passes; each check is bounded by `timeoutMs`.
 */
export class ReadinessRegistry {
  private readonly checks: ReadinessCheck[] = [];
  private draining = false;

  register(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** Marks the service as draining: readiness fails from now on so load balancers stop sending work. */
  markDraining(): void {
    this.draining = true;
  }

  async report(timeoutMs = 2000): Promise<ReadinessReport> {
    const checks: ReadinessReport['checks'] = {};
    await Promise.all(
      this.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), timeoutMs, c.name);
          checks[c.name] = { ok: true };
        } catch (err) {
          checks[c.name] = { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    if (this.draining) checks['draining'] = { ok: false, error: 'service is shutting down' };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
