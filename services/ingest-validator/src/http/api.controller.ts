import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res, UseFilters, UseGuards } from '@nestjs/common';
import { EventPublisher, newEnvelope } from '@llmgov/kafka-runtime';
import { Topics, type FeedbackSubmitted } from '@llmgov/contracts';
import { JobsService, type JobView } from '../services/jobs.service.js';
import { DocumentIntakeService } from '../services/document-intake.service.js';
import { ApiErrorFilter } from './error.filter.js';
import { ApiKeyGuard, TenantId } from './api-key.guard.js';
import { JsonBodyGuard } from './json-body.guard.js';
import { ValidationService } from '../services/validation.service.js';
import { documentSubmissionSchema, feedbackSchema, jobSubmissionSchema } from './api-schemas.js';

interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

/** The public HTTP API: jobs, documents and feedback. Thin: parse, call one service method, shape the answer. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
@UseFilters(ApiErrorFilter)
export class ApiController {
  constructor(
    private readonly jobs: JobsService,
    private readonly documents: DocumentIntakeService,
    private readonly publisher: EventPublisher,
    private readonly validation: ValidationService,
  ) {}

  /** 202 with the new job; 200 with the existing job when the idempotency key was used before with the same request; 422 with a different one. */
  @Post('jobs')
  @UseGuards(JsonBodyGuard)
  async submitJob(@TenantId() tenantId: string, @Body() body: unknown, @Res() res: HttpResponse): Promise<void> {
    const { job, created } = await this.jobs.submit(tenantId, jobSubmissionSchema.parse(body));
    res.status(created ? 202 : 200).json(job);
  }

  @Get('jobs/:id')
  getJob(@TenantId() tenantId: string, @Param('id') id: string): Promise<JobView> {
    return this.jobs.get(tenantId, id);
  }

  @Post('jobs/:id/cancel')
  @HttpCode(202)
  cancelJob(@TenantId() tenantId: string, @Param('id') id: string): Promise<JobView> {
    return this.jobs.cancel(tenantId, id);
  }

  @Post('documents')
  @HttpCode(202)
  @UseGuards(JsonBodyGuard)
  async submitDocument(@TenantId() tenantId: string, @Body() body: unknown): Promise<{ document_id: string; event_id: string }> {
    const doc = documentSubmissionSchema.parse(body);
    const record = await this.documents.submit({ ...doc, tenant_id: tenantId, title: doc.title ?? null, language: doc.language ?? null });
    return { document_id: record.document_id, event_id: record.event_id };
  }

  /**
   * 202 `{document_id, status: "deleting"}`: a tombstone is on its way; the document leaves the source of record, every
   * index version and the cached answers built on it. 404 for unknown or malformed ids and other tenants' documents.
   */
  @Delete('documents/:id')
  @HttpCode(202)
  deleteDocument(@TenantId() tenantId: string, @Param('id') id: string): Promise<{ document_id: string; status: 'deleting' }> {
    return this.documents.requestDelete(tenantId, id);
  }

  /** 202; the correction and comment are stored downstream, so they are normalised and PII-masked here. */
  @Post('feedback')
  @HttpCode(202)
  @UseGuards(JsonBodyGuard)
  async submitFeedback(@TenantId() tenantId: string, @Body() body: unknown): Promise<{ event_id: string }> {
    const fb = feedbackSchema.parse(body);
    await this.jobs.get(tenantId, fb.job_id);
    const value: FeedbackSubmitted = {
      ...newEnvelope(tenantId, fb.job_id),
      job_id: fb.job_id,
      kind: fb.kind,
      correction: fb.correction == null ? null : this.validation.maskedText(fb.correction),
      user_id: fb.user_id ?? null,
      comment: fb.comment == null ? null : this.validation.maskedText(fb.comment),
    };
    await this.publisher.publish(Topics.feedbackSubmitted, { value });
    return { event_id: value.event_id };
  }
}
