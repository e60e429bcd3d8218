import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeliveryDeps, type DeliveryDeps } from '../../activities';
import { retryWorkerActivities } from '../../worker/activities';
import { startTask } from '../../client/tasks';
import { TaskInput } from '../../domain/task';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { ensureAptPackages } from '../../scripts/ensure-apt';
import { createWorker } from '../../worker/worker';

/**
 * The operator's view: a task that dead-letters is found in the Temporal Web UI by its search attribute, and its
 * page shows the summary startTask set and the current details the workflow set. Real dev server, real worker, Debian
 * chromium driven by playwright-core. Screenshots go to test-artifacts/web-ui-*.png.
 */
const artifacts = path.resolve(__dirname, '../../test-artifacts');

let browser: Browser;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  ensureAptPackages(['chromium']);
  mkdirSync(artifacts, { recursive: true });
  expect(inject('temporalUiUrl'), 'the global setup must start the dev server with its Web UI').toMatch(/^http/);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, namespace: 'default' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await connection?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

/** Polls visibility until `query` lists the workflow (visibility is eventually consistent). */
async function waitForVisibility(query: string, workflowId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for await (const wf of client.workflow.list({ query })) {
      if (wf.workflowId === workflowId) return;
    }
    if (Date.now() > deadline) throw new Error(`${workflowId} did not show up in visibility for: ${query}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The visible text of the page and of its frames: the Web UI renders summaries and details (markdown) inside
 * sandboxed iframes, which `innerText` of the main document does not include.
 */
async function visibleText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((frame) =>
      frame
        .locator('body')
        .innerText({ timeout: 1_000 })
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

describe('Temporal Web UI', () => {
  it('serves the workflow list of the default namespace to headless chromium', async () => {
    const page = await newPage();
    try {
      await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows`);
      await expect.poll(() => visibleText(page), { timeout: 30_000 }).toMatch(/\b\d+\s+Workflows?\b/);
      await expect.poll(() => page.title()).toMatch(/Workflows \| default/);
      await page.screenshot({ path: path.join(artifacts, 'web-ui-list.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  it('lists a dead-lettered task under TaskStatus="dead_lettered" and shows its summary and current details', async () => {
    const taskQueue = `web-ui-${randomUUID()}`;
    const config = loadConfig({ TASK_QUEUE: taskQueue, WORKER_METRICS_PORT: '0' });
    const logger = createLogger('warn', 'web-ui-test');
    const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const suffix = randomUUID().slice(0, 8);
    // max_retries 0 and no dead destination: straight to dead_lettered, no delivery, then parked.
    const deadTask = TaskInput.parse({
      id: `webui-dead-${suffix}`,
      source: 'billing-service',
      client_id: 'acme-42',
      destination_type: 'http',
      destination: { url: 'https://hooks.acme.example/orders' },
      max_retries: 0,
      base_delay: 1,
      message_data: '{"order": 7}',
    });
    // Waits an hour before its first attempt: must not show up under the dead_lettered filter.
    const waitingTask = TaskInput.parse({
      ...deadTask,
      id: `webui-waiting-${suffix}`,
      max_retries: 3,
      base_delay: 3600,
    });
    let deps: DeliveryDeps | undefined;
    try {
      deps = createDeliveryDeps({ config, logger });
      const worker: Worker = await createWorker({
        connection: nativeConnection,
        namespace: 'default',
        config,
        logger,
        activities: retryWorkerActivities({ deps, client }),
        workflowBundlePath: inject('workflowBundlePath'),
        taskQueue,
      });
      // The Web UI reads current details through a workflow query, so the worker runs while the pages load.
      await worker.runUntil(async () => {
        await startTask(client, taskQueue, waitingTask);
        await startTask(client, taskQueue, deadTask);
        await waitForVisibility(`TaskStatus = "dead_lettered"`, deadTask.id);
        await waitForVisibility(`TaskStatus = "scheduled"`, waitingTask.id);

        const page = await newPage();
        try {
          // 1. The list, filtered by the search attribute through the ?query= parameter.
          const query = 'TaskStatus="dead_lettered"';
          await page.goto(`${inject('temporalUiUrl')}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
          const link = page.getByRole('link', { name: deadTask.id, exact: true });
          await link.waitFor();
          await expect.poll(() => visibleText(page)).toContain('TaskStatus = "dead_lettered"');
          expect(await visibleText(page)).not.toContain(waitingTask.id);
          await page.screenshot({ path: path.join(artifacts, 'web-ui-dead-lettered-list.png'), fullPage: true });

          // 2. The task's page: summary (startTask's static summary) and current details (set by the workflow).
          await link.click();
          await page.waitForURL(new RegExp(`/workflows/${deadTask.id}/`));
          await page.getByRole('tab', { name: 'User Metadata' }).click();
          const summary = 'http → POST https://hooks.acme.example/orders · from billing-service (client acme-42)';
          await expect.poll(() => visibleText(page), { timeout: 30_000 }).toContain(summary);
          await expect
            .poll(() => visibleText(page), { timeout: 30_000 })
            .toMatch(/dead_lettered\s*·\s*dead-lettered \(exhausted\) after 0 attempt\(s\): no dead destination/);
          await page.screenshot({ path: path.join(artifacts, 'web-ui-dead-lettered-task.png'), fullPage: true });
        } finally {
          await page.context().close();
        }
      });
    } finally {
      await client.workflow
        .getHandle(waitingTask.id)
        .terminate('web-ui test done')
        .catch(() => undefined);
      await client.workflow
        .getHandle(deadTask.id)
        .terminate('web-ui test done')
        .catch(() => undefined);
      await deps?.close();
      await nativeConnection.close();
    }
  });
});
