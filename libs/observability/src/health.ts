/** A named readiness check; resolves when the thing checked answers, throws otherwise. */
export interface ReadinessCheck {
  name: string;
  /**
   * True for an external dependency the service's record handlers need (Postgres, Redis, the schema registry): while
   * it fails, the service's Kafka consumers stop fetching and retriable failures wait for it instead of being
   * dead-lettered. False/absent for the service's own state (consumer joined, draining).
   */
  dependency?: boolean;
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

  /** Names of the dependency checks (see ReadinessCheck.dependency) failing now; empty when all answer. */
  async failingDependencies(timeoutMs = 2000): Promise<string[]> {
    const failing: string[] = [];
    await Promise.all(
      this.checks
        .filter((c) => c.dependency)
        .map(async (c) => {
          try {
            await withTimeout(c.check(), timeoutMs, c.name);
          } catch {
            failing.push(c.name);
          }
        }),
    );
    return failing.sort();
  }

  /** Runs every check; `ready` is true when all pass and the service is not draining. Failing checks carry their error. */
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
