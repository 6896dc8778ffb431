import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelAgreementStats } from '@llmgov/judging';
import { formatAgreement, type AgreementReport } from './feedback.js';

describe('formatAgreement', () => {
  it('prints the figures and the 2x2 table', () => {
    const table = { goodPass: 20, goodNotPass: 10, badPass: 5, badNotPass: 15 };
    const r: AgreementReport = { tenant_id: 'tenant-a', ...labelAgreementStats(table), table };
    const text = formatAgreement(r);
    assert.match(text, /tenant tenant-a/);
    assert.match(text, /labels compared: 50 {2}agreed: 35 {2}rate: 0\.7000 {2}Cohen's kappa: 0\.4000/);
    assert.match(text, /human GOOD +20 +10/);
    assert.match(text, /human BAD +5 +15/);
  });

  it('says n/a with no label', () => {
    const table = { goodPass: 0, goodNotPass: 0, badPass: 0, badNotPass: 0 };
    assert.match(formatAgreement({ tenant_id: null, ...labelAgreementStats(table), table }), /all tenants[\s\S]*rate: n\/a {2}Cohen's kappa: n\/a/);
  });
});
