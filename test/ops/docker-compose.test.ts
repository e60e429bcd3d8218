import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributeDefinitions } from '../../domain/search-attributes';
import { ensureAptPackages } from '../../scripts/ensure-apt';
import { kafkaNodeProperties } from '../../scripts/stack/cluster/kafka-cluster';
import {
  apiEnv,
  clusterTopology,
  sharedTemporalServerEnv,
  temporalServerEnv,
  workerEnv,
} from '../../scripts/stack/cluster/topology';
import { temporalUiEnv } from '../../scripts/stack/cluster/web-ui';

/**
 * No Docker engine runs here, so the stack is checked as far as it can be without one: Debian's `docker-compose`
 * validates and normalises the file (`config`), and the normalised form is checked for what makes the stack start in
 * the right order and keep its data. The search-attribute one-shot script runs for real against a fake `temporal`.
 */
const root = path.resolve(__dirname, '../..');
const composeFile = path.join(root, 'docker-compose.yml');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: { published: number; target: number }[];
  restart?: string;
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** `docker-compose config` of a file; throws with docker-compose's own message when the file is invalid. */
function composeConfig(file: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync('docker-compose', ['-f', file, '--project-directory', root, 'config'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`docker-compose config failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** YAML → object with the PyYAML that Debian's docker-compose package itself depends on. */
function parseYaml(text: string): ComposeConfig {
  const json = execFileSync(
    '/usr/bin/python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: text, encoding: 'utf8' },
  );
  return JSON.parse(json) as ComposeConfig;
}

let config: ComposeConfig;
let scratch: string;

beforeAll(() => {
  ensureAptPackages(['docker-compose']);
  config = parseYaml(composeConfig(composeFile));
  scratch = mkdtempSync(path.join(tmpdir(), 'compose-test-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Names of the services of one kind, `kafka-1` … in order. */
const numbered = (prefix: string) =>
  Object.keys(config.services)
    .filter((n) => new RegExp(`^${prefix}-\\d+$`).test(n))
    .sort();
const kafkaNodes = () => numbered('kafka');
const apps = (kind: 'worker' | 'api') => numbered(kind);

const service = (name: string): ComposeService => {
  const s = config.services[name];
  if (!s) throw new Error(`service ${name} is missing from docker-compose.yml`);
  return s;
};

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config and defines the whole stack', () => {
    expect(Object.keys(config.services).sort()).toEqual(
      [
        'api-1',
        'api-2',
        'kafka-1',
        'kafka-2',
        'kafka-3',
        'postgresql',
        'temporal',
        'temporal-schema',
        'temporal-search-attributes',
        'temporal-ui',
        'worker-1',
        'worker-2',
      ].sort(),
    );
  });

  it('is rejected by docker-compose config when a service depends on one that does not exist', () => {
    // Proves the validation step is not a rubber stamp.
    const broken = path.join(scratch, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(composeFile, 'utf8').replace(
        /(\n {2}worker-2:\n[\s\S]*?depends_on:\n)/,
        '$1      no-such-service:\n        condition: service_healthy\n',
      ),
    );
    expect(() => composeConfig(broken)).toThrow(/no-such-service/);
  });

  it('pins every pulled image to a version and never uses latest', () => {
    for (const [name, s] of Object.entries(config.services)) {
      if (s.build || s.image === service('worker-1').image) continue; // ours, built by worker-1
      expect(s.image, name).toMatch(/^[\w./-]+:\d[\w.-]*$/);
    }
    expect(service('temporal').image).toMatch(/^temporalio\/(auto-setup|server):/);
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(service('temporal-search-attributes').image).toMatch(/^temporalio\/admin-tools:/);
    expect(service('temporal-schema').image).toMatch(/^temporalio\/admin-tools:/);
    for (const n of kafkaNodes()) expect(service(n).image).toMatch(/^apache\/kafka:3\./);
  });

  it('keeps Temporal on PostgreSQL with its data and the Kafka logs in named volumes', () => {
    expect(service('temporal').environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(service('postgresql').volumes).toContainEqual(
      expect.stringMatching(/^temporal-db:\/var\/lib\/postgresql\/data/),
    );
    for (const n of kafkaNodes()) {
      expect(service(n).volumes).toContainEqual(expect.stringMatching(new RegExp(`^${n}-data:/var/lib/kafka/data`)));
      expect(service(n).environment?.KAFKA_LOG_DIRS).toBe('/var/lib/kafka/data');
    }
    expect(Object.keys(config.volumes ?? {}).sort()).toEqual([...kafkaNodes().map((n) => `${n}-data`), 'temporal-db']);
  });

  it('gives every long-running service a healthcheck', () => {
    for (const name of ['postgresql', 'temporal', ...kafkaNodes(), ...apps('worker'), ...apps('api')]) {
      expect(service(name).healthcheck?.test.length, name).toBeGreaterThan(1);
    }
  });

  it('starts the worker and the API only once Temporal and Kafka are healthy and the search attributes exist', () => {
    for (const name of [...apps('worker'), ...apps('api')]) {
      expect(service(name).depends_on, name).toMatchObject({
        temporal: { condition: 'service_healthy' },
        'temporal-search-attributes': { condition: 'service_completed_successfully' },
        ...Object.fromEntries(kafkaNodes().map((n) => [n, { condition: 'service_healthy' }])),
      });
    }
    expect(service('temporal').depends_on).toEqual({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(service('temporal-schema').depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(service('temporal-schema').restart).toBe('no');
    expect(service('temporal-search-attributes').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(service('temporal-ui').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(service('temporal-search-attributes').restart).toBe('no');
  });

  it('runs the worker and the API from this repository with npm run and points them at Temporal and Kafka', () => {
    expect(service('worker-1').build?.context).toBe(root);
    for (const script of ['worker', 'api'] as const) {
      for (const name of apps(script)) {
        const s = service(name);
        expect(s.image, name).toBe('retry-service:local');
        expect(s.command, name).toEqual(['npm', 'run', script]);
        expect(s.environment, name).toMatchObject({
          TEMPORAL_ADDRESS: 'temporal:7233',
          TEMPORAL_NAMESPACE: 'default',
          KAFKA_BROKERS: kafkaNodes()
            .map((n) => `${n}:9092`)
            .join(','),
        });
      }
    }
    expect(service('api-1').ports).toContainEqual({ published: 8080, target: 8080 });
    expect(service('api-2').ports).toContainEqual({ published: 8081, target: 8080 });
    expect(service('temporal-ui').environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');

    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20[\w.-]*-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^CMD \["npm", "run", "worker"\]$/m);
    const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts;
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['worker', 'api']));
  });

  it('passes API_KEYS and OTEL_EXPORTER_OTLP_ENDPOINT through from the environment', () => {
    const withEnv = parseYaml(
      composeConfig(composeFile, { API_KEYS: 'k1,k2', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }),
    );
    expect(withEnv.services['api-2']?.environment).toMatchObject({
      API_KEYS: 'k1,k2',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
    });
    expect(withEnv.services['worker-2']?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel:4318');
  });

  describe('the search-attribute one-shot', () => {
    /** Runs the service's shell script against a fake `temporal` that already knows `known` attributes. */
    function runOneShot(known: string[]): { calls: string[]; stdout: string } {
      const s = service('temporal-search-attributes');
      expect(s.entrypoint).toEqual(['/bin/sh', '-c']);
      const script = s.command![0]!.replaceAll('$$', '$');
      const bin = path.join(scratch, `bin-${known.length}`);
      const calls = path.join(bin, 'calls.log');
      execFileSync('mkdir', ['-p', bin]);
      writeFileSync(
        path.join(bin, 'temporal'),
        [
          '#!/bin/sh',
          `echo "$*" >> ${calls}`,
          'if [ "$3" = list ]; then',
          '  echo "  Name   Type"',
          ...known.map((k) => `  echo "  ${k}   Keyword"`),
          'fi',
        ].join('\n'),
      );
      chmodSync(path.join(bin, 'temporal'), 0o755);
      writeFileSync(calls, '');
      const stdout = execFileSync('/bin/sh', ['-c', script], {
        encoding: 'utf8',
        env: { PATH: `${bin}:/usr/bin:/bin`, SEARCH_ATTRIBUTES: String(s.environment?.SEARCH_ATTRIBUTES) },
      });
      return { calls: readFileSync(calls, 'utf8').trim().split('\n'), stdout };
    }

    it('creates exactly the search attributes of domain/search-attributes.ts with their types', () => {
      const { calls } = runOneShot([]);
      const created = calls.filter((c) => c.includes(' create '));
      expect(created.sort()).toEqual(
        Object.entries(searchAttributeDefinitions)
          .map(([name, type]) => `operator search-attribute create --name ${name} --type ${type}`)
          .sort(),
      );
    });

    it('skips attributes that are already registered, so a second `up` succeeds', () => {
      const { calls, stdout } = runOneShot(['TaskStatus', 'NextAttemptAt']);
      const created = calls.filter((c) => c.includes(' create ')).map((c) => c.split(' ')[4]);
      expect(created).not.toContain('TaskStatus');
      expect(created).not.toContain('NextAttemptAt');
      // `NextAttemptAt` being known must not hide `Attempt`.
      expect(created).toContain('Attempt');
      expect(created).toHaveLength(Object.keys(searchAttributeDefinitions).length - 2);
      expect(stdout).toContain('search attribute TaskStatus already registered');
    });
  });
});

describe('docker-compose.yml and the cluster profile (npm run stack -- --profile cluster)', () => {
  const tag = (name: string) => service(name).image!.split(':')[1]!;
  const to = { temporalAddress: 'temporal:7233', kafkaBrokers: ['k1:9092', 'k2:9092', 'k3:9092'] };

  it('run the same versions of Temporal, PostgreSQL and Kafka', () => {
    expect(tag('temporal')).toBe(clusterTopology.temporalServer);
    expect(tag('temporal-schema')).toBe(clusterTopology.temporalServer);
    expect(tag('temporal-search-attributes')).toBe(clusterTopology.temporalServer);
    expect(tag('temporal-ui')).toBe(clusterTopology.temporalUi);
    expect(tag('postgresql').split('.')[0]).toBe(String(clusterTopology.postgresMajor));
    for (const n of kafkaNodes()) expect(tag(n), n).toBe(clusterTopology.kafka);
  });

  it('run the same topology: Kafka nodes, workers and APIs', () => {
    expect(kafkaNodes()).toHaveLength(clusterTopology.kafkaBrokers);
    expect(apps('worker')).toHaveLength(clusterTopology.workers);
    expect(apps('api')).toHaveLength(clusterTopology.apis);
  });

  it('give the Temporal server the same variables, shard count included', () => {
    const profile = temporalServerEnv({
      postgresHost: '127.0.0.1',
      postgresPort: 5432,
      frontendPort: 7233,
      dynamicConfigFile: '/x.yaml',
    });
    const compose = service('temporal').environment!;
    // Every variable compose sets is one the profile sets too (same template, same names) …
    for (const name of Object.keys(compose)) expect(Object.keys(profile), name).toContain(name);
    // … and the ones that are not addresses have the same values.
    for (const name of sharedTemporalServerEnv) expect(String(compose[name]), name).toBe(profile[name]);
    expect(compose.NUM_HISTORY_SHARDS).toBe(clusterTopology.numHistoryShards);
    for (const name of ['DB', 'POSTGRES_USER', 'POSTGRES_PWD'] as const) {
      expect(service('temporal-schema').environment?.[name], name).toBe(profile[name]);
    }
  });

  it('give the Web UI server the same variables', () => {
    const profile = Object.keys(temporalUiEnv('temporal:7233', 8080));
    for (const name of Object.keys(service('temporal-ui').environment!)) expect(profile, name).toContain(name);
  });

  it('configure every Kafka node as the profile does (replication factor 3, min.insync.replicas 2)', () => {
    const nodes = [1, 2, 3].map((nodeId) => ({ nodeId, port: 9092, controllerPort: 9093 }));
    // Addresses differ between loopback and a container network (compose adds a listener for the host).
    const addressOnly =
      /^(node\.id|controller\.quorum\.voters|listeners|advertised\.listeners|listener\.security\.protocol\.map|log\.dirs)$/;
    const props = kafkaNodeProperties(nodes[0]!, nodes, '/data')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('=') as [string, string])
      .filter(([key]) => !addressOnly.test(key));
    expect(props.length).toBeGreaterThan(10);
    for (const n of kafkaNodes()) {
      const env = service(n).environment!;
      for (const [key, value] of props) {
        expect(String(env[`KAFKA_${key.toUpperCase().replaceAll('.', '_')}`]), `${n} ${key}`).toBe(value);
      }
    }
  });

  it('give our workers and APIs the same variables', () => {
    const names = (env: Record<string, unknown>) => Object.keys(env).sort();
    const composeOnly = ['LOG_LEVEL', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'TASK_QUEUE', 'API_KEYS'];
    const profile = { worker: workerEnv(to, 9464), api: apiEnv(to, '0.0.0.0', 8080) };
    for (const kind of ['worker', 'api'] as const) {
      for (const name of apps(kind)) {
        const env = service(name).environment!;
        const shared = names(env).filter((n) => !composeOnly.includes(n));
        expect(shared, name).toEqual(names(profile[kind]));
        expect(String(env.KAFKA_BROKERS).split(','), name).toHaveLength(clusterTopology.kafkaBrokers);
      }
    }
    for (const name of apps('worker')) {
      expect(service(name).environment?.INGRESS_ENABLED).toBe(profile.worker.INGRESS_ENABLED);
    }
  });

  it('register the same search attributes (the profile registers domain/search-attributes.ts itself)', () => {
    const pairs = String(service('temporal-search-attributes').environment?.SEARCH_ATTRIBUTES).trim().split(/\s+/);
    expect(Object.fromEntries(pairs.map((p) => p.split('=')))).toEqual(searchAttributeDefinitions);
  });
});
