import { validate as validateUuid } from 'uuid';
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ValidationError } from '@llmgov/errors';
import type { DocumentSubmitted, DocumentValidated, InferenceRequestSubmitted, InferenceRequestValidated } from '@llmgov/contracts';
import { INGEST_CONFIG, type IngestConfig } from '../config.js';
import { hasControlCharacters, hasLoneSurrogates, injectionScore, maskPii, normaliseText } from '@llmgov/guardrails';

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,255}$/;
const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const META_KEY_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_META_ENTRIES = 32;
const MAX_META_VALUE_CHARS = 1024;

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * The first `maxChars` UTF-16 code units of `s`, one fewer when the cut would split a surrogate pair: a plain
 * `slice` can leave half of an emoji, a string Postgres refuses in jsonb and that has no UTF-8 form.
 */
export function truncateText(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  const last = s.charCodeAt(maxChars - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars);
}

/**
 * Semantic validation beyond Avro types, shared by the HTTP API and the raw-topic consumers:
 * tenant known, ids well-formed, sizes within limits, languages allowed, metadata bounded, PII masked,
 * prompt-injection screened. Every problem is collected; the caller gets all reasons at once.
 */
@Injectable()
export class ValidationService {
  constructor(@Inject(INGEST_CONFIG) private readonly config: IngestConfig) {}

  /**
   * The form of `text` that may be stored at rest: normalised (control characters removed, unpaired surrogates
   * replaced, see normaliseText) and PII-masked (maskPii), as the pipeline forwards prompts; cut to at most
   * `maxChars` UTF-16 code units without splitting a surrogate pair.
   */
  maskedText(text: string, maxChars = Number.POSITIVE_INFINITY): string {
    return truncateText(maskPii(normaliseText(text)).text, maxChars);
  }

  /** Tenants that have an API key are the known tenants. */
  isKnownTenant(tenantId: string): boolean {
    for (const t of this.config.API_KEYS.values()) if (t === tenantId) return true;
    return false;
  }

  /**
   * @returns the validated, normalised document with its SHA-256 content hash and PII masked.
   * @throws ValidationError listing every reason.
   */
  validateDocument(doc: DocumentSubmitted): Omit<DocumentValidated, 'event_id' | 'occurred_at'> {
    const reasons = this.envelopeReasons(doc.tenant_id);
    if (!ID_RE.test(doc.document_id)) reasons.push('document_id must be 1-256 characters of [A-Za-z0-9._:@-], starting alphanumeric');
    const normalised = normaliseText(doc.text);
    if (normalised.length === 0) reasons.push('text is empty after normalisation');
    if (normalised.length > this.config.MAX_DOCUMENT_CHARS)
      reasons.push(`text has ${normalised.length} characters, above the limit of ${this.config.MAX_DOCUMENT_CHARS}`);
    const language = doc.language?.trim().toLowerCase() || 'en';
    if (!this.config.ALLOWED_LANGUAGES.has(language))
      reasons.push(`language "${language.slice(0, 16)}" is not allowed (allowed: ${[...this.config.ALLOWED_LANGUAGES].join(', ')})`);
    const title = doc.title == null ? '' : truncateText(normaliseText(doc.title), 512);
    reasons.push(...this.metadataReasons(doc.metadata));
    if (reasons.length > 0) throw new ValidationError(reasons);
    const { text, masked } = maskPii(normalised);
    return {
      tenant_id: doc.tenant_id,
      schema_version: 1,
      correlation_id: doc.document_id,
      document_id: doc.document_id,
      source: doc.source,
      title,
      text,
      language,
      content_hash: sha256Hex(text),
      pii_masked_count: masked,
      metadata: doc.metadata,
    };
  }

  /**
   * @returns the validated request: prompt normalised and PII-masked, prompt hash, injection score.
   * @throws ValidationError listing every reason (including `prompt_injection` screening).
   */
  validateInferenceRequest(req: InferenceRequestSubmitted): Omit<InferenceRequestValidated, 'event_id' | 'occurred_at'> {
    const reasons = this.envelopeReasons(req.tenant_id);
    // Job ids are UUIDs (the jobs table's key): a producer on the raw topic must send one.
    if (!validateUuid(req.job_id)) reasons.push('job_id must be a UUID');
    const prompt = normaliseText(req.prompt);
    if (prompt.length === 0) reasons.push('prompt is empty after normalisation');
    if (prompt.length > this.config.MAX_PROMPT_CHARS)
      reasons.push(`prompt has ${prompt.length} characters, above the limit of ${this.config.MAX_PROMPT_CHARS}`);
    const systemPrompt = req.system_prompt == null ? null : normaliseText(req.system_prompt);
    if (systemPrompt && systemPrompt.length > this.config.MAX_PROMPT_CHARS) reasons.push('system_prompt is above the prompt size limit');
    const { budget, options } = req;
    if (!(budget.latency_ms >= 100 && budget.latency_ms <= 600_000)) reasons.push('budget.latency_ms must be within 100..600000');
    if (!(budget.max_cost_usd >= 0 && budget.max_cost_usd <= 100)) reasons.push('budget.max_cost_usd must be within 0..100');
    if (!(budget.min_quality >= 0 && budget.min_quality <= 1)) reasons.push('budget.min_quality must be within 0..1');
    if (!(options.max_tokens >= 1 && options.max_tokens <= 8192)) reasons.push('options.max_tokens must be within 1..8192');
    if (!(options.temperature >= 0 && options.temperature <= 2)) reasons.push('options.temperature must be within 0..2');
    if (options.tier_hint != null && !['S', 'M', 'L'].includes(options.tier_hint)) reasons.push('options.tier_hint must be S, M or L');
    for (const [name, v] of [
      ['team', req.team],
      ['feature', req.feature],
      ['route', req.route],
    ] as const) {
      if (v != null && !/^[A-Za-z0-9_.-]{1,64}$/.test(v)) reasons.push(`${name} must be 1-64 characters of [A-Za-z0-9_.-]`);
    }
    reasons.push(...this.metadataReasons(req.metadata));
    const score = injectionScore(`${systemPrompt ?? ''}\n${prompt}`);
    if (score >= this.config.INJECTION_REJECT_SCORE)
      reasons.push(`prompt_injection: screening score ${score} is at or above ${this.config.INJECTION_REJECT_SCORE}`);
    if (reasons.length > 0) throw new ValidationError(reasons);
    const masked = maskPii(prompt);
    return {
      ...req,
      prompt: masked.text,
      system_prompt: systemPrompt,
      prompt_hash: sha256Hex(masked.text),
      injection_score: score,
      pii_masked_count: masked.masked,
    };
  }

  private envelopeReasons(tenantId: string): string[] {
    if (!TENANT_RE.test(tenantId)) return ['tenant_id is missing or malformed'];
    if (!this.isKnownTenant(tenantId)) return [`tenant_id "${tenantId}" is not a known tenant`];
    return [];
  }

  private metadataReasons(metadata: Record<string, string>): string[] {
    const entries = Object.entries(metadata ?? {});
    const reasons: string[] = [];
    if (entries.length > MAX_META_ENTRIES) reasons.push(`metadata has ${entries.length} entries, above the limit of ${MAX_META_ENTRIES}`);
    for (const [k, v] of entries) {
      if (!META_KEY_RE.test(k)) reasons.push('metadata keys must be 1-64 characters of [A-Za-z0-9_.-]');
      if (v.length > MAX_META_VALUE_CHARS || hasControlCharacters(v) || hasLoneSurrogates(v)) {
        reasons.push(`metadata value of "${k.slice(0, 64)}" is too long or has control characters or unpaired surrogates`);
      }
    }
    return [...new Set(reasons)];
  }
}
