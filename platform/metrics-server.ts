import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * The worker's GET /metrics: the application registry (prom-client) followed by the Temporal SDK's own worker
 * metrics, read from the Runtime's Prometheus exporter on loopback. One port to scrape per worker.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  sdkMetricsUrl?: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(req.url === '/healthz' ? 200 : 404).end(req.url === '/healthz' ? 'ok' : 'not found');
      return;
    }
    void (async () => {
      let body = await registry.metrics();
      if (sdkMetricsUrl) {
        try {
          const sdk = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2_000) });
          if (sdk.ok) body += `\n${await sdk.text()}`;
        } catch {
          // SDK exporter not up yet: serve the application metrics alone.
        }
      }
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
