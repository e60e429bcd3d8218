import { execFileSync } from 'node:child_process';
import { kafkaClusterId } from '../kafka';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kafkaProbe } from '../../../platform/kafka-probe';
import { spawnService, waitUntilReady, type Service } from '../process';
import { clusterTopology } from './topology';

const log4j = path.resolve(__dirname, '..', '..', 'kafka', 'log4j.properties');

export interface KafkaNode {
  nodeId: number;
  port: number;
  controllerPort: number;
}

export interface KafkaClusterOptions {
  libs: string;
  /** Holds one folder per node and the cluster id; formatted on first use, reused afterwards. */
  dataDir: string;
  nodes: KafkaNode[];
  logDir: string;
}

/** One running KRaft node; `restart()` starts it again on the same data after a stop or a kill. */
export interface KafkaClusterNode extends KafkaNode {
  address: string;
  service: Service;
  restart(): Promise<void>;
}

export interface KafkaCluster {
  brokers: string[];
  nodes: KafkaClusterNode[];
}

/** `server.properties` of one node: broker and controller, replication factor 3 and min.insync.replicas 2. */
export function kafkaNodeProperties(node: KafkaNode, all: KafkaNode[], logDirs: string): string {
  const rf = clusterTopology.kafkaReplicationFactor;
  const minIsr = clusterTopology.kafkaMinInsyncReplicas;
  return [
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${all.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDirs}`,
    'num.partitions=3',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${rf}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    '',
  ].join('\n');
}

/** Formats the nodes when new (one cluster id for all), starts the three JVMs, waits until each answers. */
export async function startKafkaCluster(opts: KafkaClusterOptions): Promise<KafkaCluster> {
  mkdirSync(opts.dataDir, { recursive: true });
  const idFile = path.join(opts.dataDir, 'cluster-id');
  if (!existsSync(idFile)) writeFileSync(idFile, kafkaClusterId());
  const clusterId = readFileSync(idFile, 'utf8').trim();
  const classpath = path.join(opts.libs, '*');
  const jvm = ['-Xms128m', '-Xmx512m', `-Dlog4j.configuration=file:${log4j}`];

  const nodes = opts.nodes.map((node): KafkaClusterNode => {
    const dir = path.join(opts.dataDir, `node-${node.nodeId}`);
    const logDirs = path.join(dir, 'logs');
    const props = path.join(dir, 'server.properties');
    mkdirSync(logDirs, { recursive: true });
    writeFileSync(props, kafkaNodeProperties(node, opts.nodes, logDirs));
    if (!existsSync(path.join(logDirs, 'meta.properties'))) {
      const format = ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props];
      execFileSync('java', [...jvm, ...format], { stdio: 'ignore' });
    }
    const address = `127.0.0.1:${node.port}`;
    const spawn = () =>
      spawnService(
        `kafka node ${node.nodeId}`,
        'java',
        [...jvm, '-cp', classpath, 'kafka.Kafka', props],
        path.join(opts.logDir, `kafka-${node.nodeId}.log`),
      );
    const running: KafkaClusterNode = {
      ...node,
      address,
      service: spawn(),
      async restart() {
        running.service = spawn();
        await waitUntilReady(running.service, kafkaProbe([address], 'stack-probe'), 120_000, 500);
      },
    };
    return running;
  });
  // A node answers once the controller quorum (two of three) has formed, so all three start before any wait.
  await Promise.all(nodes.map((n) => waitUntilReady(n.service, kafkaProbe([n.address], 'stack-probe'), 120_000, 500)));
  return { brokers: nodes.map((n) => n.address), nodes };
}
