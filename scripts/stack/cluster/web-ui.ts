import { spawnService, waitUntilReady, type Service } from '../process';
import type { TemporalUiBinaries } from './build';
import { clusterTopology } from './topology';

/** Environment of the UI server: the names its `config/docker.yaml` reads, as the `temporalio/ui` image does. */
export function temporalUiEnv(temporalAddress: string, port: number): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_UI_PORT: String(port),
    TEMPORAL_DEFAULT_NAMESPACE: clusterTopology.namespace,
    TEMPORAL_CORS_ORIGINS: `http://127.0.0.1:${port}`,
    // No outbound calls from a closed network.
    TEMPORAL_DISABLE_NEWS_FETCH: 'true',
  };
}

/** Starts the Temporal Web UI server in front of `temporalAddress`; ready when its page answers. */
export async function startTemporalUi(opts: {
  bins: TemporalUiBinaries;
  temporalAddress: string;
  port: number;
  logFile: string;
}): Promise<{ url: string; service: Service }> {
  const env = temporalUiEnv(opts.temporalAddress, opts.port);
  const args = [
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    opts.bins.server,
    '--root',
    opts.bins.root,
    '--env',
    'docker',
    'start',
  ];
  const service = spawnService('temporal web ui', 'env', args, opts.logFile);
  const url = `http://127.0.0.1:${opts.port}`;
  await waitUntilReady(
    service,
    async () => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    },
    60_000,
    500,
  );
  return { url, service };
}
