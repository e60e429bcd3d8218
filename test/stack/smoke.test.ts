import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { TaskInput } from '../../domain/task';
import { TaskState } from '../../domain/status';
import type { retryTask } from '../../workflows';
import { scriptedActivities } from '../support/scripted-activities';

describe('the provisioned stack is real', () => {
  it('runs a workflow to completion on the dev server started by the test setup', async () => {
    const address = inject('temporalAddress');
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const system = await connection.workflowService.getSystemInfo({});
    expect(system.serverVersion).toMatch(/^\d+\.\d+/);

    const taskQueue = `smoke-${randomUUID()}`;
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address }),
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: scriptedActivities({}).activities,
    });
    const task = TaskInput.parse({
      id: `smoke-${randomUUID()}`,
      source: 'smoke',
      client_id: 'ci',
      destination_type: 'http',
      destination: { url: 'https://receiver.example/hook' },
      max_retries: 1,
      base_delay: 0,
      message_data: 'ping',
    });
    const result = await worker.runUntil(
      client.workflow.execute<typeof retryTask>('retryTask', { taskQueue, workflowId: task.id, args: [{ task }] }),
    );
    expect(result.state).toBe(TaskState.Succeeded);
    // The dev server registered the search attributes our workflows upsert.
    const described = await client.workflow.getHandle(task.id).describe();
    expect(described.searchAttributes.TaskStatus).toEqual([TaskState.Succeeded]);
    await connection.close();
  });

  it('produces and consumes a message on the provisioned Kafka broker', async () => {
    const kafka = new Kafka({ brokers: inject('kafkaBrokers'), clientId: 'smoke', logLevel: logLevel.NOTHING });
    const topic = `smoke-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka' }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(`${message.key}=${message.value}`) });
    });
    await consumer.disconnect();
    expect(received).toBe('k=hello kafka');
  });

  it('skips a simulated day on the time-skipping server without waiting for it', async () => {
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
    });
    try {
      const before = await env.currentTimeMs();
      const wall = Date.now();
      await env.sleep('1 day');
      const skipped = (await env.currentTimeMs()) - before;
      const wallMs = Date.now() - wall;
      console.log(`[timing] 1 simulated day took ${wallMs} ms of wall time`);
      expect(skipped).toBeGreaterThanOrEqual(86_400_000);
      // Far below a real day: nothing actually waited (generous bound for a loaded 2-core machine).
      expect(wallMs).toBeLessThan(10_000);
    } finally {
      await env.teardown();
    }
  });
});

describe('workflow code is deterministic', () => {
  it('bundles the workflows without a server', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, '../../workflows'),
      logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
    });
    expect(code).toContain('retryTask');
  });

  it('refuses to bundle workflow code that imports fs', async () => {
    await expect(
      bundleWorkflowCode({
        workflowsPath: path.resolve(__dirname, '../fixtures/bad-workflow'),
        logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} },
      }),
    ).rejects.toThrow(/fs/);
  });
});
