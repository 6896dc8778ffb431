import { PolicyStoreError, type PolicyRepository } from '@llmgov/persistence';
import type { PolicyDocument } from '@llmgov/policy';

/** Nest injection token of the judge's optional `PolicyVersionSource`. */
export const JUDGE_POLICY = Symbol('JUDGE_POLICY');

/** The policy document of a version of the namespace the judge follows. */
export interface PolicyVersionSource {
  /** The namespace the versions belong to (the router's `POLICY_NAMESPACE`). */
  readonly namespace: string;
  /**
   * The document of `version`; undefined for null (a job decided without a policy) or a version the namespace does not
   * have (the judge follows another namespace than the router that decided the job).
   * @throws RetriableError when Postgres is unreachable.
   */
  document(version: number | null): Promise<PolicyDocument | undefined>;
}

/**
 * The policy versions of one namespace, read from Postgres (`PolicyRepository.show`) once each: versions are
 * immutable, so the cache never goes stale, and a new activation reaches the judge with the first job the router
 * decides under it (every completion carries the `policy_version` that decided its job), without a restart or a watcher.
 * A version the namespace lacks is remembered as missing (logged once through `onMissing`).
 */
export class PolicyVersions implements PolicyVersionSource {
  private readonly known = new Map<number, PolicyDocument | null>();

  constructor(
    private readonly repo: PolicyRepository,
    private readonly onMissing: (version: number, message: string) => void = () => undefined,
  ) {}

  get namespace(): string {
    return this.repo.namespace;
  }

  async document(version: number | null): Promise<PolicyDocument | undefined> {
    if (version === null) return undefined;
    const known = this.known.get(version);
    if (known !== undefined) return known ?? undefined;
    try {
      const record = await this.repo.show(version);
      this.known.set(version, record.document);
      return record.document;
    } catch (err) {
      if (!(err instanceof PolicyStoreError) || err.code !== 'unknown_version') throw err;
      this.known.set(version, null);
      this.onMissing(version, err.message);
      return undefined;
    }
  }
}
