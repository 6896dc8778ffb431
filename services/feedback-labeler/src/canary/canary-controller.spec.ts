import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PlatformConfig } from '@llmgov/config';
import type { CostRecorded, InferenceCompleted, InferenceJudged, JobStatusChanged } from '@llmgov/contracts';
import { PlatformMetrics, createLogger } from '@llmgov/observability';
import type { ActivePolicy, Pool, PolicyRepository } from '@llmgov/persistence';
import { parsePolicyText, type PolicyDocument } from '@llmgov/policy';
import type { LabelerConfig } from '../config.js';
import { CanaryController } from './canary-controller.service.js';

const local = parsePolicyText(readFileSync(fileURLToPath(new URL('../../../../../infra/policies/local.yaml', import.meta.url)), 'utf8'), 'local.yaml');
const canaryDoc: PolicyDocument = { ...local, canary: { min_samples: 3, max_cost_ratio: 2, window_s: 60 } };
const STARTED = Date.now() - 10_000;

function active(withCanary: boolean): ActivePolicy {
  const at = new Date(STARTED);
  return {
    version: 1,
    sha256: 's1',
    document: local,
    templates: [],
    activation: { id: 1, namespace: 'n', version: 1, action: 'activate', previous_version: null, activated_at: at, activated_by: 't', comment: null },
    canary: withCanary
      ? {
          canary: {
            id: 9,
            namespace: 'n',
            mode: 'canary',
            version: 2,
            stable_version: 1,
            percent: 50,
            started_at: at,
            started_by: 't',
            comment: null,
            ended_at: null,
            ended_by: null,
            outcome: null,
            cause: null,
          },
          version: 2,
          sha256: 's2',
          document: canaryDoc,
          templates: [],
        }
      : null,
  };
}

/** A controller with a fake repository that records endCanary calls (no Postgres, no timer). */
function controller() {
  const ended: unknown[][] = [];
  const c = new CanaryController(
    { CANARY_CONTROLLER_ENABLED: true, POLICY_NAMESPACE: 'n', CANARY_EVAL_INTERVAL_MS: 1000 } as LabelerConfig,
    {} as PlatformConfig,
    {} as Pool,
    createLogger('spec', 'silent'),
    new PlatformMetrics('feedback-labeler'),
  );
  const inner = c as unknown as { repo: PolicyRepository; follow(a: ActivePolicy): void; evaluate(): Promise<void> };
  inner.repo = {
    endCanary: (...args: unknown[]) => {
      ended.push(args);
      return Promise.resolve({ id: 9 });
    },
  } as unknown as PolicyRepository;
  return { c, inner, ended };
}

const cost = (version: number | null, usd: number, at = Date.now() - 1000, kind: CostRecorded['kind'] = 'COMPLETION') =>
  ({ policy_version: version, kind, cost_usd: usd, occurred_at: at }) as CostRecorded;

describe('CanaryController', () => {
  it('rolls back a canary that costs more than the tolerance, with the metric, the figures and the window as cause, once', async () => {
    const { c, inner, ended } = controller();
    inner.follow(active(true));
    for (let i = 0; i < 3; i++) {
      c.observeCost(cost(1, 0.001));
      c.observeCost(cost(2, 0.01));
    }
    await inner.evaluate();
    assert.equal(ended.length, 1);
    const [outcome, by, cause, id] = ended[0]!;
    assert.deepEqual([outcome, by, id], ['rolled_back', 'canary-controller', 9]);
    assert.match(String(cause), /^cost: cost per request 1\.000e-2 USD > 2 × stable 1\.000e-3 USD \(3 vs 3 samples\) over the last 60 s$/);
    await inner.evaluate();
    assert.equal(ended.length, 1, 'nothing more to do once rolled back');
  });

  it('counts only the canary’s and the stable version’s samples since the canary started, completion costs only', async () => {
    const { c, inner, ended } = controller();
    inner.follow(active(true));
    for (let i = 0; i < 3; i++) {
      c.observeCost(cost(1, 0.001));
      c.observeCost(cost(2, 0.01, STARTED - 1)); // before the canary started
      c.observeCost(cost(3, 0.01)); // another version
      c.observeCost(cost(2, 0.01, Date.now() - 1000, 'JUDGE')); // not the version's choice
      c.observeCost(cost(null, 0.01));
    }
    await inner.evaluate();
    assert.equal(ended.length, 0);
  });

  it('counts the router’s template answers as answers that did not pass, and rolls back on the quality drop', async () => {
    const { c, inner, ended } = controller();
    inner.follow(active(true));
    const at = Date.now() - 1000;
    for (let i = 0; i < 3; i++) {
      c.observeJudged({ policy_version: 1, occurred_at: at, tenant_id: 'tenant-a', route: 'squad-qa', verdict: 'PASS', groundedness: 0.9 } as InferenceJudged);
      c.observeStatus({
        state: 'completed',
        stage: 'router',
        occurred_at: at,
        tenant_id: 'tenant-a',
        result: { finish_reason: 'template', policy_version: 2, route: 'squad-qa' },
      } as JobStatusChanged);
      c.observeCompleted({
        policy_version: 2,
        occurred_at: at,
        deadline_at: at + 119_000,
        budget: { latency_ms: 120_000 },
        tenant_id: 'tenant-a',
        route: 'squad-qa',
      } as InferenceCompleted);
    }
    await inner.evaluate();
    assert.equal(ended.length, 1);
    assert.match(String(ended[0]![2]), /^slo_quality: SLO breach on route tenant-a\/squad-qa: canary mean groundedness 0 < min_quality 0\.5/);
  });

  it('counts a redelivered or redriven event once: the same event_id is one sample', async () => {
    const { c, inner, ended } = controller();
    inner.follow(active(true));
    const repeated = { ...cost(2, 0.01), event_id: '1b4e28ba-2fa1-41d2-883f-0016d3cca427' } as CostRecorded;
    for (let i = 0; i < 3; i++) {
      c.observeCost({ ...cost(1, 0.001), event_id: `00000000-0000-4000-8000-00000000000${i}` } as CostRecorded);
      c.observeCost(repeated); // the same canary event three times (redelivery, redrive)
    }
    await inner.evaluate();
    assert.equal(ended.length, 0, 'one canary sample is below min_samples: no rollback');
    for (let i = 0; i < 2; i++) c.observeCost({ ...cost(2, 0.01), event_id: `00000000-0000-4000-8000-00000000010${i}` } as CostRecorded);
    await inner.evaluate();
    assert.equal(ended.length, 1, 'three distinct canary events reach min_samples and breach the cost tolerance');
  });

  it('forgets the window when the canary ends', async () => {
    const { c, inner, ended } = controller();
    inner.follow(active(true));
    for (let i = 0; i < 3; i++) c.observeCost(cost(1, 0.001));
    inner.follow(active(false));
    inner.follow(active(true));
    for (let i = 0; i < 3; i++) c.observeCost(cost(2, 0.01));
    await inner.evaluate();
    assert.equal(ended.length, 0, 'the stable samples from before were dropped');
  });
});
