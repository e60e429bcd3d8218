import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaProbe } from '../../platform/kafka-probe';
import { spawnService, waitUntilReady, type Service } from './process';
import { ProvisioningError, which } from './temporal';
import { versions } from './versions';

const scriptsDir = path.resolve(__dirname, '..', 'kafka');

/** Why Kafka cannot be provisioned here, or undefined when it can (Java and Maven on PATH, or jars present). */
export function kafkaUnavailableReason(stackDir: string): string | undefined {
  if (!which('java')) return 'java is not on PATH';
  if (!existsSync(jarsMarker(stackDir)) && !which('mvn')) return 'mvn is not on PATH (needed once to fetch the jars)';
  return undefined;
}

function libsDir(stackDir: string): string {
  return path.join(stackDir, `kafka-${versions.kafka}`, 'libs');
}
function jarsMarker(stackDir: string): string {
  return path.join(libsDir(stackDir), '.complete');
}

/** Resolves the pinned broker jars from Maven Central into `<stackDir>/kafka-<version>/libs`, once. */
export function ensureKafkaJars(stackDir: string): string {
  const libs = libsDir(stackDir);
  if (existsSync(jarsMarker(stackDir))) return libs;
  const reason = kafkaUnavailableReason(stackDir);
  if (reason) throw new ProvisioningError('Kafka', reason);
  console.log(`[stack] fetching org.apache.kafka:kafka_2.13:${versions.kafka} from Maven Central into ${libs}`);
  mkdirSync(libs, { recursive: true });
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        path.join(scriptsDir, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      { stdio: 'inherit' },
    );
  } catch (err) {
    throw new ProvisioningError('Kafka', `mvn dependency:copy-dependencies failed: ${(err as Error).message}`);
  }
  if (!readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${versions.kafka}`))) {
    throw new ProvisioningError('Kafka', `kafka_2.13-${versions.kafka}.jar missing after mvn in ${libs}`);
  }
  writeFileSync(jarsMarker(stackDir), new Date().toISOString());
  return libs;
}

export interface KafkaBrokerOptions {
  libs: string;
  /** Broker data (KRaft metadata + logs); formatted on first use, reused afterwards. */
  dataDir: string;
  port: number;
  controllerPort: number;
  logFile: string;
}

export interface KafkaBroker {
  brokers: string[];
  service: Service;
}

/** Formats storage when new (`kafka.tools.StorageTool format`), starts `kafka.Kafka`, waits for the admin API. */
export async function startKafkaBroker(opts: KafkaBrokerOptions): Promise<KafkaBroker> {
  const logDirs = path.join(opts.dataDir, 'logs');
  mkdirSync(logDirs, { recursive: true });
  const props = path.join(opts.dataDir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${opts.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${opts.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${opts.port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${logDirs}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      '',
    ].join('\n'),
  );
  const classpath = path.join(opts.libs, '*');
  const jvm = ['-Xms256m', '-Xmx1g', `-Dlog4j.configuration=file:${path.join(scriptsDir, 'log4j.properties')}`];
  if (!existsSync(path.join(logDirs, 'meta.properties'))) {
    const clusterId = kafkaClusterId();
    execFileSync(
      'java',
      [...jvm, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props],
      {
        stdio: 'ignore',
      },
    );
  }
  const service = spawnService('kafka broker', 'java', [...jvm, '-cp', classpath, 'kafka.Kafka', props], opts.logFile);
  const brokers = [`127.0.0.1:${opts.port}`];
  await waitUntilReady(service, kafkaProbe(brokers, 'stack-probe'), 90_000, 500, opts.port);
  void warmGroupCoordinator(brokers);
  return { brokers, service };
}

/**
 * A new broker creates its consumer-offsets topic on the first group-coordinator lookup, which takes seconds (many
 * under load) and holds up the first consumer group to join — the ingress at start-up. One lookup as soon as the
 * broker answers starts that work while the rest of the service is still starting. Best effort: errors are ignored.
 */
async function warmGroupCoordinator(brokers: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'stack-warm-up', brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    await admin.describeGroups(['stack-warm-up']);
  } catch {
    // the ingress waits for the coordinator itself; this only starts the work early
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * A new KRaft cluster id: 16 random bytes, base64url (Kafka's own form). One that starts with '-' would be read as an
 * option by the storage tool's argument parser, so the first character is kept alphanumeric.
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
