import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { counterBy, handlerMeans, histogramSummary } from './collect.js';

describe('handlerMeans', () => {
  it('averages kafka_handler_duration_seconds over every outcome of a topic, in ms', () => {
    const text = [
      '# HELP kafka_handler_duration_seconds Handler time',
      'kafka_handler_duration_seconds_bucket{le="0.1",topic="a.v1",outcome="success",service="x"} 3',
      'kafka_handler_duration_seconds_sum{topic="a.v1",outcome="success",service="x"} 0.3',
      'kafka_handler_duration_seconds_count{topic="a.v1",outcome="success",service="x"} 3',
      'kafka_handler_duration_seconds_sum{topic="a.v1",outcome="dlq",service="x"} 0.5',
      'kafka_handler_duration_seconds_count{topic="a.v1",outcome="dlq",service="x"} 1',
      'kafka_handler_duration_seconds_sum{topic="b.v1",outcome="success",service="x"} 0',
      'kafka_handler_duration_seconds_count{topic="b.v1",outcome="success",service="x"} 0',
    ].join('\n');
    assert.deepEqual(handlerMeans(text), { 'a.v1': 200 });
  });

  it('returns nothing for a text without the metric', () => {
    assert.deepEqual(handlerMeans('process_cpu_seconds_total 1\n'), {});
  });
});

describe('histogramSummary', () => {
  // 10 observations: 4 in (0, 0.001], 4 in (0.001, 0.005], 2 in (0.005, +Inf)
  const text = [
    'router_policy_decision_seconds_bucket{le="0.001"} 4',
    'router_policy_decision_seconds_bucket{le="0.005"} 8',
    'router_policy_decision_seconds_bucket{le="+Inf"} 10',
    'router_policy_decision_seconds_sum 0.03',
    'router_policy_decision_seconds_count 10',
    'router_policy_decision_seconds_other 99',
  ].join('\n');

  it('interpolates quantiles inside their bucket and scales them (s → ms)', () => {
    const h = histogramSummary(text, 'router_policy_decision_seconds', 1000)!;
    assert.equal(h.count, 10);
    assert.equal(h.mean, 3);
    // rank 5 of 10 lies 1/4 into the (1, 5] ms bucket
    assert.equal(h.p50, 2);
    // rank 9.5 lies in +Inf: reported as the highest finite bound
    assert.equal(h.p95, 5);
  });

  it('merges label sets and is undefined for an absent or empty histogram', () => {
    const twice = `${text.replace(/_bucket\{/g, '_bucket{tier="S",')}\n${text.replace(/_bucket\{/g, '_bucket{tier="M",')}`;
    assert.equal(histogramSummary(twice, 'router_policy_decision_seconds')!.count, 20);
    assert.equal(histogramSummary(text, 'absent_seconds'), undefined);
    assert.equal(histogramSummary('x_seconds_count 0\n', 'x_seconds'), undefined);
  });
});

describe('counterBy', () => {
  it('sums a counter per value of one label, escaped quotes included', () => {
    const text = [
      'router_policy_decision_reasons_total{reason="a→b"} 2',
      'router_policy_decision_reasons_total{reason="a→b",pod="2"} 3',
      'router_policy_decision_reasons_total{reason="say \\"x\\""} 1',
      'router_policy_decisions_total{route="r"} 7',
    ].join('\n');
    assert.deepEqual(counterBy(text, 'router_policy_decision_reasons_total', 'reason'), { 'a→b': 5, 'say \\"x\\"': 1 });
  });
});
