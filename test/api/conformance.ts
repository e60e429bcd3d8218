import type { App } from 'supertest/types';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { expect } from 'vitest';
import { buildOpenApiDocument } from '../../api/openapi';

/**
 * Checks answers against the OpenAPI document the API serves: the status must be documented for the operation, and a
 * JSON body must validate against the documented schema (components are strict, so an undocumented field fails).
 */
const doc = buildOpenApiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');

type Content = Record<string, { schema?: unknown }>;
type Operation = { requestBody?: { content?: Content }; responses: Record<string, { content?: Content }> };
const paths = doc.paths as unknown as Record<string, Record<string, Operation>>;
const templates = Object.keys(paths).map((t) => ({
  template: t,
  pattern: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));
const validators = new Map<unknown, ValidateFunction>();

/** The document's operation for a concrete method and path (literal paths win over templates). */
function operationOf(method: string, path: string): Operation | undefined {
  const bare = path.split('?')[0]!;
  const exact = paths[bare]?.[method.toLowerCase()];
  if (exact) return exact;
  for (const { template, pattern } of templates) {
    const op = paths[template]?.[method.toLowerCase()];
    if (op && pattern.test(bare)) return op;
  }
  return undefined;
}

function validatorOf(schema: { $ref?: string }): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema.$ref ? { $ref: `openapi${schema.$ref}` } : schema);
    validators.set(schema, validate);
  }
  return validate;
}

/** Fails the test when a request body is not one the document allows for `method path`. */
export function expectRequestConforms(method: string, path: string, body: unknown) {
  const op = operationOf(method, path);
  expect(op, `${method} ${path} is not in the document`).toBeDefined();
  const schema = op!.requestBody?.content?.['application/json']?.schema as { $ref?: string } | undefined;
  if (body === undefined) return;
  expect(schema, `${method} ${path} sends a body the document does not describe`).toBeDefined();
  const validate = validatorOf(schema!);
  expect(validate(body), `${method} ${path} request: ${JSON.stringify(validate.errors)}`).toBe(true);
}

/**
 * Fails the test when the answer is not what the document says `method path` answers. Paths the document does not
 * list (/docs, unknown routes) and methods it does not list for them (405, OPTIONS, HEAD) are not checked here.
 */
export function expectConforms(
  method: string,
  path: string,
  res: { status: number; body: unknown; headers: Record<string, string> },
) {
  const op = operationOf(method, path);
  if (!op) return;
  const response = op!.responses[String(res.status)];
  expect(response, `${method} ${path} answered ${res.status}, which the document does not list`).toBeDefined();
  const schema = response!.content?.['application/json']?.schema as { $ref?: string } | undefined;
  if (!schema) return;
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const validate = validatorOf(schema);
  const ok = validate(res.body);
  expect(ok, `${method} ${path} ${res.status} body: ${JSON.stringify(validate.errors)}`).toBe(true);
}

const methods = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
type Method = (typeof methods)[number];

/** supertest's `request(app)`, with every answer checked by {@link expectConforms} before the test sees it. */
export function conformingRequest(app: App): Record<Method, (path: string) => request.Test> {
  const agent = request(app);
  return Object.fromEntries(
    methods.map((method) => [
      method,
      (path: string) => {
        const test = agent[method](path);
        const then = test.then.bind(test);
        test.then = ((onOk, onErr) =>
          then((res) => {
            expectConforms(method, path, res);
            return res;
          }).then(onOk, onErr)) as typeof test.then;
        return test;
      },
    ]),
  ) as Record<Method, (path: string) => request.Test>;
}
