import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaMessage, Producer } from 'kafkajs';
import { Topics } from '@llmgov/contracts';
import { RetriableError } from '@llmgov/errors';
import { createLogger } from '@llmgov/observability';
import { DeadLetterPublisher } from './dead-letter.js';
import {
  DeadLetterTopicError,
  DependencyRedrive,
  dlqOf,
  groupDeadLetters,
  matchesFilter,
  parseDeadLetter,
  redriveHeaders,
  type DeadLetterRecord,
  type DeadLetterRedriver,
  type RedrivePlan,
} from './dead-letters.js';
import { DlqHeaders, RedriveHeaders } from './headers.js';

const DLQ = `${Topics.feedbackSubmitted}.dlq`;

function message(offset: string, headers: Record<string, string>, timestamp = 1_700_000_000_000): KafkaMessage {
  return {
    offset,
    key: Buffer.from('job-1'),
    value: Buffer.from([0, 0, 0, 0, 1, 2]),
    timestamp: String(timestamp),
    attributes: 0,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
  } as KafkaMessage;
}

test('the DLQ publisher writes the cause class next to the provenance headers', async () => {
  const sent: { topic: string; messages: { headers: Record<string, unknown> }[] }[] = [];
  const producer = { send: async (r: (typeof sent)[number]) => void sent.push(r) } as unknown as Producer;
  await new DeadLetterPublisher(producer, 'svc').send({
    topic: Topics.feedbackSubmitted,
    partition: 2,
    offset: '7',
    key: null,
    value: null,
    headers: { traceparent: 'x' },
    error: new RetriableError('redis: down', 'redis_unavailable'),
    attempts: 3,
  });
  const h = sent[0]!.messages[0]!.headers;
  assert.equal(sent[0]!.topic, DLQ);
  assert.equal(h[DlqHeaders.cause], 'dependency');
  assert.equal(h[DlqHeaders.errorCode], 'redis_unavailable');
  assert.equal(h.traceparent, 'x');
});

test('parseDeadLetter reads provenance; a missing cause is derived from the code, a hostile one is not trusted', () => {
  const ok = parseDeadLetter(
    DLQ,
    1,
    message('5', {
      [DlqHeaders.sourceTopic]: Topics.feedbackSubmitted,
      [DlqHeaders.cause]: 'dependency',
      [DlqHeaders.errorCode]: 'redis_unavailable',
      [DlqHeaders.time]: '2026-11-29T10:00:00.000Z',
    }),
  );
  assert.equal(ok.cause, 'dependency');
  assert.equal(ok.deadLetteredAt, Date.parse('2026-11-29T10:00:00.000Z'));
  assert.equal(ok.sourceTopic, Topics.feedbackSubmitted);
  const old = parseDeadLetter(DLQ, 0, message('1', { [DlqHeaders.errorCode]: 'undecodable' }));
  assert.equal(old.cause, 'schema');
  assert.equal(old.deadLetteredAt, 1_700_000_000_000, 'no dlq.time: the broker timestamp');
  const hostile = parseDeadLetter(
    DLQ,
    0,
    message('2', {
      [DlqHeaders.cause]: '__proto__',
      [DlqHeaders.errorCode]: 'constructor',
      [DlqHeaders.sourceTopic]: 'billing.cost.recorded.v1',
      [DlqHeaders.time]: 'yesterday',
      [RedriveHeaders.count]: '-1e9',
    }),
  );
  assert.equal(hostile.cause, 'bug');
  assert.equal(hostile.sourceTopic, Topics.feedbackSubmitted, 'a source header naming another topic is ignored: the DLQ name decides');
  assert.equal(hostile.redriveCount, 0);
  const none = parseDeadLetter(DLQ, 0, { ...message('3', {}), headers: undefined } as KafkaMessage);
  assert.equal(none.cause, 'bug');
  assert.equal(none.errorCode, 'unexpected');
});

test('redriveHeaders strips dlq.* and earlier redrive.* headers, keeps the rest, counts redrives', () => {
  const r = parseDeadLetter(
    DLQ,
    1,
    message('9', {
      traceparent: 't',
      [DlqHeaders.cause]: 'dependency',
      [DlqHeaders.errorMessage]: 'm',
      [RedriveHeaders.count]: '1',
      [RedriveHeaders.id]: 'old',
    }),
  );
  const h = redriveHeaders(r, 'rid', 'ev-1');
  assert.deepEqual(Object.keys(h).sort(), ['redrive.count', 'redrive.event_id', 'redrive.from', 'redrive.id', 'traceparent']);
  assert.equal(h[RedriveHeaders.count], '2');
  assert.equal(h[RedriveHeaders.id], 'rid');
  assert.equal(h[RedriveHeaders.from], `${DLQ}/1/9`);
  assert.equal(String(h.traceparent), 't');
  assert.equal(redriveHeaders(r, 'rid', null)[RedriveHeaders.eventId], undefined);
});

test('groupDeadLetters groups by topic, cause and code; matchesFilter narrows by cause and time', () => {
  const at = (o: string, cause: string, code: string, time: string) =>
    parseDeadLetter(DLQ, 0, message(o, { [DlqHeaders.cause]: cause, [DlqHeaders.errorCode]: code, [DlqHeaders.time]: time }));
  const rs = [
    at('0', 'dependency', 'redis_unavailable', '2026-11-29T10:00:00Z'),
    at('1', 'dependency', 'redis_unavailable', '2026-11-29T11:00:00Z'),
    at('2', 'schema', 'undecodable', '2026-11-29T12:00:00Z'),
  ];
  const g = groupDeadLetters(rs);
  assert.deepEqual(
    g.map((x) => [x.cause, x.error_code, x.count, x.first, x.last, x.latest.offset]),
    [
      ['dependency', 'redis_unavailable', 2, '2026-11-29T10:00:00.000Z', '2026-11-29T11:00:00.000Z', '1'],
      ['schema', 'undecodable', 1, '2026-11-29T12:00:00.000Z', '2026-11-29T12:00:00.000Z', '2'],
    ],
  );
  assert.deepEqual(
    rs.filter((r) => matchesFilter(r, { cause: 'dependency', since: Date.parse('2026-11-29T10:30:00Z') })).map((r) => r.offset),
    ['1'],
  );
  assert.deepEqual(
    rs.filter((r) => matchesFilter(r, { before: Date.parse('2026-11-29T11:00:00Z') })).map((r) => r.offset),
    ['0', '1'],
  );
});

test('dlqOf accepts catalog topics and their DLQ names; anything else is a clear error', () => {
  assert.equal(dlqOf(Topics.feedbackSubmitted), DLQ);
  assert.equal(dlqOf(DLQ), DLQ);
  for (const bad of ['nope', '', 'feedback.feedback.submitted.v1.dlq.dlq', '../../etc/passwd', 'x'.repeat(10_000)]) {
    assert.throws(
      () => dlqOf(bad),
      (e: unknown) => e instanceof DeadLetterTopicError && /not a topic of the catalog/.test(e.message),
    );
  }
});

describe('DependencyRedrive', () => {
  const DLQ_USAGE = `${Topics.usageRecorded}.dlq`;
  const letter = (offset: string, at: number) =>
    parseDeadLetter(
      DLQ_USAGE,
      0,
      message(offset, {
        [DlqHeaders.cause]: 'dependency',
        [DlqHeaders.errorCode]: 'redis_unavailable',
        [DlqHeaders.time]: new Date(at).toISOString(),
        [DlqHeaders.service]: 'svc',
      }),
    );

  /** A redriver double: a DLQ holding `letters`, end offsets `ends`, recording what it was asked to plan and run. */
  function fakeRedriver(state: { letters: DeadLetterRecord[]; ends: string; down: string[] }) {
    const plans: unknown[] = [];
    const runs: { offsets: string[]; mode: string }[] = [];
    const redriver = {
      reader: { dlqTopics: async () => [DLQ_USAGE], endOffsets: async () => state.ends },
      plan: async (filter: unknown, maxRedrives: number) => {
        plans.push({ filter, maxRedrives });
        const records = state.letters.filter((r) => r.redriveCount < maxRedrives);
        return { filter, matched: state.letters.length, alreadyRedriven: 0, overCap: 0, records, bySourceTopic: {} };
      },
      run: async (plan: RedrivePlan, o: { mode: string }) => {
        runs.push({ offsets: plan.records.map((r) => r.offset), mode: o.mode });
        state.letters = state.letters.filter((r) => !plan.records.includes(r));
        return { redriveId: 'r', published: plan.records.length, skipped: 0, failed: 0 };
      },
    } as unknown as DeadLetterRedriver;
    return { redriver, plans, runs };
  }

  it('waits until the dependencies have been healthy for the window, then redrives dead letters at least that old', async () => {
    let now = 1_000_000;
    const state = { letters: [letter('0', now - 500), letter('1', now + 9_000)], ends: 'a', down: ['redis'] };
    const { redriver, plans, runs } = fakeRedriver(state);
    const sut = new DependencyRedrive({
      redriver,
      probe: async () => state.down,
      topics: [Topics.usageRecorded],
      service: 'svc',
      healthyForMs: 10_000,
      logger: createLogger('spec', 'silent'),
      now: () => now,
    });
    assert.equal(await sut.tick(), undefined, 'down');
    state.down = [];
    assert.equal(await sut.tick(), undefined, 'healthy since now: not long enough');
    now += 9_999;
    assert.equal(await sut.tick(), undefined, 'one ms short of the window');
    assert.equal(plans.length, 0, 'no DLQ read before the window passed');
    now += 1;
    assert.equal((await sut.tick())?.published, 1);
    assert.deepEqual(runs, [{ offsets: ['0'], mode: 'automatic' }], 'only the dead letter older than the window');
    assert.deepEqual(plans[0], { filter: { cause: 'dependency', topics: [DLQ_USAGE], service: 'svc' }, maxRedrives: 3 });
    now += 10_000;
    assert.equal((await sut.tick())?.published, 1, 'the younger one once it is old enough');
    assert.deepEqual(runs[1], { offsets: ['1'], mode: 'automatic' });
    const planned = plans.length;
    assert.equal(await sut.tick(), undefined);
    assert.equal(await sut.tick(), undefined);
    assert.equal(plans.length, planned, 'once a run left nothing outstanding, an unchanged DLQ is not read again');
    state.ends = 'b';
    state.letters = [letter('2', now - 20_000)];
    assert.equal((await sut.tick())?.published, 1, 'a DLQ that grew is read again');
  });

  it('an outage restarts the window; a probe that throws counts as down', async () => {
    let now = 0;
    const state = { letters: [letter('0', -100_000)], ends: 'a', down: [] as string[] };
    const { redriver, runs } = fakeRedriver(state);
    let fail = false;
    const probe = async () => {
      if (fail) throw new Error('probe broke');
      return state.down;
    };
    const sut = new DependencyRedrive({
      redriver,
      probe,
      topics: [Topics.usageRecorded],
      healthyForMs: 1_000,
      logger: createLogger('spec', 'silent'),
      now: () => now,
    });
    await sut.tick();
    now = 900;
    fail = true;
    await sut.tick();
    fail = false;
    now = 1_500;
    assert.equal(await sut.tick(), undefined, 'healthy again only since 1 500');
    now = 2_500;
    assert.equal((await sut.tick())?.published, 1);
    assert.equal(runs.length, 1);
  });

  it('leaves job-ending topics and DLQ topics alone', async () => {
    const state = { letters: [letter('0', 0)], ends: 'a', down: [] as string[] };
    const { redriver, plans } = fakeRedriver(state);
    const sut = new DependencyRedrive({
      redriver,
      probe: async () => [],
      topics: [Topics.inferenceValidated, Topics.inferenceRoutedS, `${Topics.usageRecorded}.dlq`],
      healthyForMs: 0,
      logger: createLogger('spec', 'silent'),
    });
    assert.equal(await sut.tick(), undefined);
    assert.equal(plans.length, 0);
  });
});
