import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createLogger, type PlatformMetrics } from '@llmgov/observability';
import { AgreementMetrics } from './agreement-metrics.js';
import type { LabelingService } from './labeling.service.js';

const setup = (answers: (() => Promise<unknown>)[]) => {
  const registry = new Registry();
  let calls = 0;
  const labeling = { agreement: () => answers[Math.min(calls++, answers.length - 1)]!() } as unknown as LabelingService;
  new AgreementMetrics({ registry } as unknown as PlatformMetrics, labeling, createLogger('labeler-test', 'silent'));
  return { registry, calls: () => calls };
};

const value = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;

describe(AgreementMetrics.name, () => {
  it('exposes kappa, rate and the count of compared labels at scrape time, one query per scrape', async () => {
    const { registry, calls } = setup([async () => ({ tenant_id: null, compared: 10, agreed: 8, rate: 0.8, kappa: 0.6 })]);
    const text = await registry.metrics();
    assert.match(text, /^judge_human_agreement_kappa 0\.6$/m);
    assert.match(text, /^judge_human_agreement_rate 0\.8$/m);
    assert.match(text, /^judge_human_labels_compared 10$/m);
    assert.equal(calls(), 1);
  });

  it('reports NaN for undefined statistics and keeps the last values when the query fails', async () => {
    const { registry } = setup([
      async () => ({ tenant_id: null, compared: 0, agreed: 0, rate: null, kappa: null }),
      async () => ({ tenant_id: null, compared: 4, agreed: 4, rate: 1, kappa: 1 }),
      async () => {
        throw new Error('database down');
      },
    ]);
    assert.ok(Number.isNaN(await value(registry, 'judge_human_agreement_kappa')));
    await registry.metrics();
    await registry.metrics();
    assert.equal(await value(registry, 'judge_human_labels_compared'), 4);
  });
});
