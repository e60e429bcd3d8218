import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributeDefinitions } from '../../domain/search-attributes';
import { ensureAptPackages } from '../../scripts/ensure-apt';

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

const service = (name: string): ComposeService => {
  const s = config.services[name];
  if (!s) throw new Error(`service ${name} is missing from docker-compose.yml`);
  return s;
};

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config and defines the whole stack', () => {
    expect(Object.keys(config.services).sort()).toEqual(
      ['api', 'kafka', 'postgresql', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker'].sort(),
    );
  });

  it('is rejected by docker-compose config when a service depends on one that does not exist', () => {
    // Proves the validation step is not a rubber stamp.
    const broken = path.join(scratch, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(composeFile, 'utf8').replace(
        /(\n {2}worker:\n[\s\S]*?depends_on:\n)/,
        '$1      no-such-service:\n        condition: service_healthy\n',
      ),
    );
    expect(() => composeConfig(broken)).toThrow(/no-such-service/);
  });

  it('pins every pulled image to a version and never uses latest', () => {
    for (const [name, s] of Object.entries(config.services)) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:\d[\w.-]*$/);
    }
    expect(service('temporal').image).toMatch(/^temporalio\/(auto-setup|server):/);
    expect(service('temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(service('temporal-search-attributes').image).toMatch(/^temporalio\/admin-tools:/);
    expect(service('kafka').image).toMatch(/^apache\/kafka:3\./);
  });

  it('keeps Temporal on PostgreSQL with its data and the Kafka logs in named volumes', () => {
    expect(service('temporal').environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(service('postgresql').volumes).toContainEqual(
      expect.stringMatching(/^temporal-db:\/var\/lib\/postgresql\/data/),
    );
    expect(service('kafka').volumes).toContainEqual(expect.stringMatching(/^kafka-data:\/var\/lib\/kafka\/data/));
    expect(service('kafka').environment?.KAFKA_LOG_DIRS).toBe('/var/lib/kafka/data');
    expect(Object.keys(config.volumes ?? {}).sort()).toEqual(['kafka-data', 'temporal-db']);
  });

  it('gives every long-running service a healthcheck', () => {
    for (const name of ['postgresql', 'temporal', 'kafka', 'worker', 'api']) {
      expect(service(name).healthcheck?.test.length, name).toBeGreaterThan(1);
    }
  });

  it('starts the worker and the API only once Temporal and Kafka are healthy and the search attributes exist', () => {
    for (const name of ['worker', 'api']) {
      expect(service(name).depends_on, name).toEqual({
        temporal: { condition: 'service_healthy' },
        'temporal-search-attributes': { condition: 'service_completed_successfully' },
        kafka: { condition: 'service_healthy' },
      });
    }
    expect(service('temporal').depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(service('temporal-search-attributes').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(service('temporal-ui').depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(service('temporal-search-attributes').restart).toBe('no');
  });

  it('runs the worker and the API from this repository with npm run and points them at Temporal and Kafka', () => {
    for (const [name, script] of [
      ['worker', 'worker'],
      ['api', 'api'],
    ] as const) {
      const s = service(name);
      expect(s.build?.context, name).toBe(root);
      expect(s.command, name).toEqual(['npm', 'run', script]);
      expect(s.environment, name).toMatchObject({
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'default',
        KAFKA_BROKERS: 'kafka:9092',
      });
    }
    expect(service('api').ports).toContainEqual({ published: 8080, target: 8080 });
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
    expect(withEnv.services.api?.environment).toMatchObject({
      API_KEYS: 'k1,k2',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
    });
    expect(withEnv.services.worker?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel:4318');
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
