import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { checkHealth } from '../use-cases/health';
import type { ApiDeps } from '../use-cases/deps';
import { buildOpenApiDocument } from '../openapi';

/** Operations routes: health, Prometheus metrics, the OpenAPI document and its docs page. */
export function opsRouter(deps: ApiDeps): Router {
  const router = Router();
  const document = buildOpenApiDocument();

  router.get('/health', async (_req, res) => {
    const health = await checkHealth(deps);
    res.status(health.status === 'ok' ? 200 : 503).json(health);
  });

  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(document));

  return router;
}
