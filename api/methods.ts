import type { RequestHandler } from 'express';
import { MethodNotAllowedError } from './errors';

/** Path templates of the OpenAPI document (`/tasks/{id}`) with the methods each serves. */
export type PathMethods = Record<string, readonly string[]>;

interface CompiledPath {
  pattern: RegExp;
  methods: readonly string[];
}

/** `/tasks/{id}/cancel` → a regex matching one path segment per parameter. */
function compile(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped}/?$`);
}

/** Every method that can answer `path`: the union over the templates it matches (`/tasks/batch` is also an id). */
function allowedFor(paths: CompiledPath[], path: string): string[] | undefined {
  const methods = new Set<string>();
  for (const p of paths) if (p.pattern.test(path)) p.methods.forEach((m) => methods.add(m));
  if (methods.size === 0) return undefined;
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return methodOrder.filter((m) => methods.has(m));
}
const methodOrder = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * HTTP method semantics for the documented paths. `options` goes before the routes: OPTIONS answers 204 with
 * `Allow`. `notAllowed` goes after them: a method the path does not serve answers 405 with `Allow` and the one error
 * body. Unknown paths fall through to the 404. HEAD is served by Express for every GET route.
 */
export function methodSemantics(documented: PathMethods): { options: RequestHandler; notAllowed: RequestHandler } {
  const paths = Object.entries(documented).map(([template, methods]) => ({
    pattern: compile(template),
    methods: methods.map((m) => m.toUpperCase()),
  }));
  return {
    options: (req, res, next) => {
      const allowed = req.method === 'OPTIONS' ? allowedFor(paths, req.path) : undefined;
      if (!allowed) return next();
      res.setHeader('Allow', allowed.join(', ')).status(204).end();
    },
    notAllowed: (req, res, next) => {
      const allowed = allowedFor(paths, req.path);
      if (!allowed) return next();
      res.setHeader('Allow', allowed.join(', '));
      next(new MethodNotAllowedError(req.method, req.path, allowed));
    },
  };
}
