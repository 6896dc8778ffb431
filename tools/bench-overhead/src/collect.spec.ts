import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { handlerMeans } from './collect.js';

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
