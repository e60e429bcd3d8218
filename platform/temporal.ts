import { loadClientConnectConfig } from '@temporalio/envconfig';

/**
 * Temporal connection settings, read through @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TLS variables, or a TOML profile). Unset address means the local default 127.0.0.1:7233.
 */
export function temporalConnectConfig() {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? '127.0.0.1:7233' },
    namespace: namespace ?? 'default',
  };
}
