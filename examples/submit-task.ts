import { parseArgs } from 'node:util';
import { ApiClient, ApiRequestError, DEFAULT_API_URL } from '../cli/api-client';

/**
 * Schedules one webhook task through the REST API with the typed client and follows it until it ends
 * (`npm run example:submit-task -- --url http://127.0.0.1:9000/hook`). The body is the documented POST /tasks shape;
 * an invalid or unknown field comes back as the API's error body, naming the field.
 */
async function run() {
  const { values } = parseArgs({
    options: {
      api: { type: 'string', default: process.env.RETRY_API_URL ?? DEFAULT_API_URL },
      url: { type: 'string', default: 'http://127.0.0.1:9000/hook' },
      id: { type: 'string', default: `example-${Date.now()}` },
    },
  });
  const api = new ApiClient({ baseUrl: values.api, apiKey: process.env.RETRY_API_KEY });
  // Step 1: submit (201 with the task's status URL).
  const submitted = await api.submitTask({
    id: values.id,
    source: 'example',
    client_id: 'example-client',
    destination_type: 'http',
    destination: { url: values.url },
    max_retries: 3,
    base_delay: 2,
    message_data: JSON.stringify({ hello: 'world' }),
  });
  console.log(`${submitted.message}; status at ${submitted.status_url}`);
  // Step 2: follow the status until the task rests.
  for (;;) {
    const status = await api.getTask(values.id);
    console.log(`${status.state}: ${status.details ?? ''}`);
    if (['succeeded', 'dead_lettered', 'dead_letter_failed', 'cancelled'].includes(status.state)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

run().catch((err) => {
  console.error(err instanceof ApiRequestError ? err.message : err);
  process.exit(1);
});
