/**
 * Builds the admin API's OpenAPI 3.1 document from the zod schemas the routes validate with.
 * Run at build time (`npm run openapi` writes assets/openapi.json); the Worker only serves the
 * result, so it carries no generator. test/openapi.test.ts checks the file is current and complete.
 */
import * as z from '../shared/zod';
import { EndpointConfigObject } from '../endpoints/schema';
import { ReplayFilter } from '../pipeline/replay';
import { KeysDeleteQuery, KeysListQuery, ModuleQuery } from './customer-keys';
import { CreateAnswerBody, DeliveryListQuery } from './deliveries';
import { PreviewRequest } from './preview';
import { SecretValue } from './secrets';
import { CrmGateQuery } from './crm';
import { EndpointsQuery } from './endpoints';
import { ProblemQuery } from './problems';
import { AuditQuery, RoleBody } from './team';
import { sentences } from '../shared/text';

const json = (schema: z.core.$ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

/** Query parameters of an object schema. */
function queryParams(schema: z.ZodMiniObject, required: string[] = []) {
  const s = json(schema) as { properties: Record<string, unknown>; required?: string[] };
  return Object.entries(s.properties).map(([name, prop]) => ({
    name,
    in: 'query',
    required: (s.required ?? required).includes(name),
    schema: prop,
  }));
}
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
});

const ERROR = { $ref: '#/components/responses/Error' };
const ok = (description: string, schema: Record<string, unknown> = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});
const body = (schema: Record<string, unknown>, contentType = 'application/json') => ({
  required: true,
  content: { [contentType]: { schema } },
});
const op = (summary: string, extra: Record<string, unknown>) => ({
  summary,
  responses: { 401: ERROR, 400: ERROR, 404: ERROR },
  ...extra,
});

/** Every admin route with its parameters, bodies and answers. */
function adminPaths() {
  const config = { $ref: '#/components/schemas/EndpointConfig' };
  const anySample = { description: 'a sample request body as the sender sends it (content type honoured)' };
  return {
    '/admin/endpoints': {
      get: op('List endpoints, a page at a time', {
        parameters: queryParams(EndpointsQuery),
        responses: {
          200: ok(
            sentences(
              'a page of endpoints with url (the whole URL to paste, secrets as <NAME> placeholders), howToSend,',
              'and nextCursor',
            ),
          ),
        },
      }),
    },
    '/admin/endpoints/{id}': {
      parameters: [pathParam('id', 'endpoint id, [a-z0-9][a-z0-9-]{0,63}')],
      get: op('Read an endpoint', { responses: { 200: ok('the stored endpoint, with url and howToSend') } }),
      put: op('Store an endpoint (201 created, 200 replaced)', {
        requestBody: body(config),
        responses: { 200: ok('replaced'), 201: ok('created'), 400: ERROR },
      }),
      delete: op('Delete an endpoint', { responses: { 204: { description: 'deleted' }, 404: ERROR } }),
    },
    '/admin/endpoints/{id}/preview': {
      parameters: [pathParam('id', 'endpoint id')],
      post: op('Preview what a sample request would send (no CRM call, no row)', {
        requestBody: { content: { '*/*': { schema: anySample } } },
        responses: { 200: ok('the CRM request and warnings') },
      }),
    },
    '/admin/endpoints/{id}/rate-limited': {
      parameters: [pathParam('id', 'endpoint id')],
      get: op('Requests refused by the rate limit, per minute, last 24 h', { responses: { 200: ok('counts') } }),
    },
    '/admin/preview': {
      post: op('Preview an unsaved configuration with a sample', {
        requestBody: body(json(PreviewRequest)),
        responses: { 200: ok('the CRM request and warnings') },
      }),
    },
    '/admin/auth-failures': {
      get: op('Failed console sign-ins and admin authentications, last 24 h', {
        responses: { 200: ok('counts per kind') },
      }),
    },
    '/admin/crm': {
      get: op('Whether CRM calls are paused (why, until when), calls in flight, the limits', {
        parameters: queryParams(CrmGateQuery),
        responses: { 200: ok('scope and gates') },
      }),
    },
    '/admin/crm/resume': {
      post: op('End a pause of CRM calls now: the next call probes the CRM', {
        parameters: queryParams(CrmGateQuery),
        responses: { 200: ok('how many gates') },
      }),
    },
    '/admin/problems': {
      get: op('List problems (failures grouped by endpoint, status and reason), open first', {
        parameters: queryParams(ProblemQuery),
        responses: { 200: ok('problems') },
      }),
    },
    '/admin/problems/{id}/acknowledge': {
      parameters: [pathParam('id', 'problem id: endpoint|status|reason')],
      post: op('Acknowledge a problem: someone is on it (no more "it grew" messages)', {
        responses: { 200: ok('the problem'), 404: ERROR },
      }),
    },
    '/admin/problems/{id}/resolve': {
      parameters: [pathParam('id', 'problem id: endpoint|status|reason')],
      post: op(
        'Resolve a problem; the answer names the replay of its deliveries; a new failure of its kind reopens it',
        {
          responses: { 200: ok('the problem and its replay filter'), 404: ERROR },
        },
      ),
    },
    '/admin/audit': {
      get: op('The audit log, newest first: who changed what, when (never a secret value)', {
        parameters: queryParams(AuditQuery),
        responses: { 200: ok('entries and nextCursor') },
      }),
    },
    '/admin/people': {
      get: op('The team: each person’s role (Cloudflare Access sign-in), and the first admin', {
        responses: { 200: ok('people') },
      }),
    },
    '/admin/people/{email}': {
      parameters: [pathParam('email', 'the person’s email')],
      put: op('Set a person’s role: viewer, operator or admin', {
        requestBody: body(json(RoleBody)),
        responses: { 200: ok('the person'), 400: ERROR },
      }),
      delete: op('Remove a person (they are a viewer again, if Access lets them in)', {
        responses: { 204: { description: 'removed' }, 404: ERROR },
      }),
    },
    '/admin/endpoints/{id}/versions': {
      parameters: [pathParam('id', 'endpoint id')],
      get: op('The endpoint’s saved versions, newest first (who saved each, when)', {
        responses: { 200: ok('versions') },
      }),
    },
    '/admin/endpoints/{id}/versions/{n}': {
      parameters: [pathParam('id', 'endpoint id'), pathParam('n', 'version number')],
      get: op('One version, with its configuration', { responses: { 200: ok('the version'), 404: ERROR } }),
    },
    '/admin/endpoints/{id}/versions/{n}/restore': {
      parameters: [pathParam('id', 'endpoint id'), pathParam('n', 'version number')],
      post: op('Restore a version: saved again as a new version (audited)', {
        responses: { 201: ok('the new version'), 400: ERROR, 404: ERROR },
      }),
    },
    '/admin/presets': {
      get: op('List the sender presets and what each supplies', { responses: { 200: ok('presets') } }),
    },
    '/admin/deliveries': {
      get: op('List deliveries, newest first', {
        parameters: queryParams(DeliveryListQuery),
        responses: { 200: ok('a page and nextCursor') },
      }),
    },
    '/admin/deliveries/{id}': {
      parameters: [pathParam('id', 'delivery id (ULID)')],
      get: op('Read a delivery with its attempts', { responses: { 200: ok('the delivery') } }),
    },
    '/admin/deliveries/{id}/replay': {
      parameters: [pathParam('id', 'delivery id')],
      post: op('Replay a delivery through the queue', { responses: { 202: ok('queued'), 409: ERROR } }),
    },
    '/admin/deliveries/{id}/accept': {
      parameters: [pathParam('id', 'delivery id')],
      post: op(
        sentences(
          'Accept a webhook refused for its token or signature, after review:',
          'delivered as if verified, the accepter recorded',
        ),
        {
          responses: { 202: ok('queued'), 404: ERROR, 409: ERROR },
        },
      ),
    },
    '/admin/deliveries/{id}/create-answer': {
      parameters: [pathParam('id', 'delivery id')],
      post: op(
        sentences(
          'Answer a create whose outcome was unknown: {"created":true,"customerId"} learns the keys and updates it;',
          '{"created":false} creates it now',
        ),
        {
          requestBody: body(json(CreateAnswerBody)),
          responses: { 202: ok('queued'), 400: ERROR, 404: ERROR, 409: ERROR },
        },
      ),
    },
    '/admin/deliveries/{id}/preview': {
      parameters: [pathParam('id', 'delivery id')],
      post: op('Preview what a replay would send today', {
        responses: { 200: ok('the CRM request and warnings'), 409: ERROR },
      }),
    },
    '/admin/deliveries/replay': {
      post: op('Replay deliveries by filter (bounded)', {
        requestBody: body(json(ReplayFilter)),
        responses: { 200: ok('dry run counts'), 202: ok('queued') },
      }),
    },
    '/admin/secrets': {
      get: op('List secret names and where each comes from (never values)', { responses: { 200: ok('secrets') } }),
    },
    '/admin/secrets/{name}': {
      parameters: [pathParam('name', 'secret name, e.g. TYPEFORM_SECRET')],
      put: op(
        'Set a secret (write-only, AES-GCM in KV); the value it replaces stays valid graceHours (24; 0 revokes it now)',
        {
          requestBody: body(json(SecretValue)),
          responses: { 200: ok('replaced'), 201: ok('created'), 409: ERROR, 503: ERROR },
        },
      ),
      delete: op('Delete a secret set through this API', {
        responses: { 204: { description: 'deleted' }, 404: ERROR },
      }),
    },
    '/admin/customer-keys': {
      post: op('Import customer keys (JSON array or CSV customer_id,key,value)', {
        parameters: queryParams(ModuleQuery),
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { customer_id: { type: 'string' }, key: { type: 'string' }, value: { type: 'string' } },
                },
              },
            },
            'text/csv': { schema: { type: 'string' } },
          },
        },
        responses: { 200: ok('added, updated, unchanged, refused and why') },
      }),
      get: op('Look customer keys up', { parameters: queryParams(KeysListQuery), responses: { 200: ok('keys') } }),
      delete: op('Delete one key', {
        parameters: queryParams(KeysDeleteQuery),
        responses: { 204: { description: 'deleted' }, 404: ERROR },
      }),
    },
    '/admin/openapi.json': { get: op('This document', { responses: { 200: ok('OpenAPI 3.1') } }) },
  };
}

export function buildOpenApi() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'crm-webhook-adapter admin API',
      version: '1',
      description: sentences(
        'Everything under /admin needs Authorization: Bearer <ADMIN_TOKEN>.',
        'Errors are { "error": { "code", "message" } }.',
      ),
    },
    security: [{ bearer: [] }],
    paths: adminPaths(),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { EndpointConfig: json(EndpointConfigObject) },
      responses: {
        Error: ok('an error', {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        }),
      },
    },
  };
}
