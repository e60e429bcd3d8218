import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  ApiClient,
  ApiRequestError,
  ApiUnreachableError,
  DEFAULT_API_URL,
  type TaskFilter,
  type TaskPage,
  type TaskRequest,
} from './api-client';
import { destinationTypes } from '../domain/destination';
import { bulkRequeueSummary, jobSummary, pageFooter, taskDetails, taskTable } from './format';
import { addJobCommands, watchJob, type JobCommandContext } from './jobs-commands';
import { addDestinationCommands } from './destination-commands';

/** Where `retryctl` reads and writes; the real process streams in bin/, buffers in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
  /** Milliseconds between two progress reads of a watched job (tests shorten it). */
  watchIntervalMs?: number;
}

/** Exit codes: 0 success, 1 the API refused or failed, 2 bad usage, 3 the API could not be reached. */
export const ExitCode = { Ok: 0, ApiError: 1, Usage: 2, Unreachable: 3 } as const;

/** Most tasks one `dead-letters requeue` collects from a filter unless `--limit` says otherwise. */
export const DEFAULT_BULK_LIMIT = 1000;

interface GlobalOptions {
  api?: string;
  apiKey?: string;
  json?: boolean;
  timeout: number;
}
interface FilterOptions {
  status?: string[];
  destinationType?: string;
  clientId?: string;
  source?: string;
  orderingKey?: string;
}
interface PageOptions {
  pageSize?: number;
  pageToken?: string;
  all?: boolean;
}

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};
const nonNegativeNumber = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
  return n;
};
const commaList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
const jsonObject = (value: string): Record<string, unknown> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"max_retries": 3}\'');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"max_retries": 3}\'');
  }
  return parsed as Record<string, unknown>;
};

function addFilterOptions(cmd: Command, states: string): Command {
  return cmd
    .option('--status <states>', `task states, comma-separated (${states})`, commaList)
    .addOption(new Option('--destination-type <type>', 'destination type').choices(destinationTypes))
    .option('--client-id <id>', 'only tasks of this client')
    .option('--source <source>', 'only tasks from this source')
    .option('--ordering-key <key>', 'only tasks of this ordering key');
}
function addPageOptions(cmd: Command): Command {
  return cmd
    .option('--page-size <n>', 'rows per page (API default 50, max 1000)', positiveInt('--page-size'))
    .option('--page-token <token>', 'continue a listing (printed under the previous page)')
    .option('--all', 'follow next_page_token until the last page');
}
const toFilter = (o: FilterOptions): TaskFilter => ({
  status: o.status,
  destination_type: o.destinationType,
  client_id: o.clientId,
  source: o.source,
  ordering_key: o.orderingKey,
});
const hasFilter = (f: TaskFilter) =>
  Boolean(f.status?.length || f.destination_type || f.client_id || f.source || f.ordering_key);

/**
 * Runs `retryctl` with the given arguments (without `node` and the script). Resolves to the exit code; never calls
 * process.exit, so tests run it in-process.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const json = (value: unknown) => out(JSON.stringify(value, null, 2));

  const program = new Command('retryctl')
    .description('Operate the retry service through its REST API: inspect, cancel, requeue and retry tasks.')
    .option('--api <url>', `API base URL (env RETRY_API_URL, default ${DEFAULT_API_URL})`)
    .option('--api-key <key>', 'API key sent as Bearer token (env RETRY_API_KEY)')
    .option('--json', 'print the API answers as JSON instead of tables')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', positiveInt('--timeout'), 30_000)
    .showHelpAfterError('(retryctl --help lists the commands)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const globals = (cmd: Command) => cmd.optsWithGlobals<GlobalOptions>();
  const client = (cmd: Command) => {
    const g = globals(cmd);
    return new ApiClient({
      baseUrl: g.api ?? io.env.RETRY_API_URL ?? DEFAULT_API_URL,
      apiKey: g.apiKey ?? io.env.RETRY_API_KEY,
      timeoutMs: g.timeout,
      fetch: io.fetch,
    });
  };

  /** One page, or every page with --all. */
  const listing = async (fetchPage: (token?: string) => Promise<TaskPage>, o: PageOptions): Promise<TaskPage> => {
    let page = await fetchPage(o.pageToken);
    if (!o.all) return page;
    const items = [...page.items];
    while (page.next_page_token) {
      page = await fetchPage(page.next_page_token);
      items.push(...page.items);
    }
    return { items, next_page_token: null };
  };
  const printPage = (cmd: Command, page: TaskPage, again: string): void => {
    if (globals(cmd).json) {
      json(page);
      return;
    }
    out(taskTable(page.items));
    out(pageFooter(page, again));
  };

  const jobContext: JobCommandContext = {
    client,
    json: (cmd) => Boolean(globals(cmd).json),
    out,
    stderr: io.stderr,
    watchIntervalMs: io.watchIntervalMs,
  };

  // ---------------------------------------------------------------------------------------------------- tasks
  const tasks = program.command('tasks').description('one task at a time, or lists of tasks');

  addPageOptions(
    addFilterOptions(
      tasks.command('list').description('list tasks, newest first'),
      'scheduled, blocked, waiting_retry, delivering, dead_lettering, succeeded, dead_lettered, dead_letter_failed, cancelled',
    ),
  ).action(async (o: FilterOptions & PageOptions, cmd: Command) => {
    const api = client(cmd);
    const page = await listing((token) => api.listTasks(toFilter(o), { page_size: o.pageSize, page_token: token }), o);
    printPage(cmd, page, 'retryctl tasks list');
  });

  tasks
    .command('submit')
    .description('schedule a task (the POST /tasks body, e.g. the seed examples in GET /openapi.json)')
    .argument('<task>', 'the task as a JSON object', jsonObject)
    .option('--ordering-key <key>', 'attempt it after the tasks accepted before it with this key (ordering_key)')
    .addOption(
      new Option(
        '--on-dead-letter <mode>',
        'what ends its hold on its key once dead-lettered (on_dead_letter)',
      ).choices(['continue', 'block']),
    )
    .action(async (task: Record<string, unknown>, o: { orderingKey?: string; onDeadLetter?: string }, cmd: Command) => {
      const body = {
        ...task,
        ...(o.orderingKey !== undefined ? { ordering_key: o.orderingKey } : {}),
        ...(o.onDeadLetter !== undefined ? { on_dead_letter: o.onDeadLetter } : {}),
      };
      // The API validates the body and answers 400 naming the field; the CLI does not repeat its rules.
      const result = await client(cmd).submitTask(body as TaskRequest);
      if (globals(cmd).json) json(result);
      else out(`${result.message}; status: ${result.status_url}`);
    });

  tasks
    .command('show')
    .description("a task's status, details and attempt log")
    .argument('<id>', 'task id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const status = await client(cmd).getTask(id);
      if (globals(cmd).json) json(status);
      else out(taskDetails(status));
    });

  tasks
    .command('cancel')
    .description('cancel a waiting or parked task (its message is not delivered)')
    .argument('<id>', 'task id')
    .option('--reason <text>', 'recorded with the cancellation')
    .action(async (id: string, o: { reason?: string }, cmd: Command) => {
      const result = await client(cmd).cancelTask(id, o.reason);
      if (globals(cmd).json) json(result);
      else out(`${result.message}${result.previous_state ? ` (was ${result.previous_state})` : ''}`);
    });

  tasks
    .command('requeue')
    .description('start a parked (dead-lettered) task over, optionally with new settings')
    .argument('<id>', 'task id')
    .option('--reason <text>', 'recorded with the requeue')
    .option('--max-retries <n>', 'override max_retries', nonNegativeNumber('--max-retries'))
    .option('--base-delay <seconds>', 'override base_delay', nonNegativeNumber('--base-delay'))
    .option('--overrides <json>', 'any requeue overrides as a JSON object', jsonObject)
    .action(
      async (
        id: string,
        o: { reason?: string; maxRetries?: number; baseDelay?: number; overrides?: Record<string, unknown> },
        cmd: Command,
      ) => {
        const overrides = { ...o.overrides };
        if (o.maxRetries !== undefined) overrides.max_retries = o.maxRetries;
        if (o.baseDelay !== undefined) overrides.base_delay = o.baseDelay;
        const result = await client(cmd).requeueTask(id, {
          reason: o.reason,
          overrides: Object.keys(overrides).length > 0 ? overrides : undefined,
        });
        if (globals(cmd).json) json(result);
        else out(`${result.message}${result.previous_state ? ` (was ${result.previous_state})` : ''}`);
      },
    );

  tasks
    .command('retry-now')
    .description('skip the current wait and attempt delivery now')
    .argument('<id>', 'task id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const result = await client(cmd).retryNow(id);
      if (globals(cmd).json) json(result);
      else out(`${result.message}${result.previous_state ? ` (was ${result.previous_state})` : ''}`);
    });

  // --------------------------------------------------------------------------------------------- dead-letters
  const deadLetters = program
    .command('dead-letters')
    .description('parked tasks (dead_lettered, dead_letter_failed) that can still be requeued');

  addPageOptions(
    addFilterOptions(deadLetters.command('list').description('list dead letters'), 'dead_lettered, dead_letter_failed'),
  ).action(async (o: FilterOptions & PageOptions, cmd: Command) => {
    const api = client(cmd);
    const page = await listing(
      (token) => api.listDeadLetters(toFilter(o), { page_size: o.pageSize, page_token: token }),
      o,
    );
    printPage(cmd, page, 'retryctl dead-letters list');
  });

  addFilterOptions(
    deadLetters
      .command('requeue')
      .description(
        'requeue dead letters by id or by filter as a job, followed with a progress bar (--dry-run counts them)',
      )
      .argument('[ids...]', 'task ids; without ids, a filter or --all picks them'),
    'dead_lettered, dead_letter_failed',
  )
    .option('--all', 'every dead letter (up to --limit)')
    .option('--dry-run', 'only count what would be requeued')
    .option('--reason <text>', 'recorded with each requeue')
    .option('--overrides <json>', 'requeue overrides for every task, as a JSON object', jsonObject)
    .option('--limit <n>', 'most tasks a filter picks', positiveInt('--limit'), DEFAULT_BULK_LIMIT)
    .option('--detach', 'start the job and print its id instead of following it')
    .action(
      async (
        ids: string[],
        o: FilterOptions & {
          all?: boolean;
          dryRun?: boolean;
          reason?: string;
          overrides?: Record<string, unknown>;
          limit: number;
          detach?: boolean;
        },
        cmd: Command,
      ) => {
        const api = client(cmd);
        const filter = toFilter(o);
        if (ids.length > 0 && (hasFilter(filter) || o.all)) {
          throw new CommanderError(ExitCode.Usage, 'retryctl.usage', 'give task ids or a filter, not both');
        }
        if (ids.length === 0 && !hasFilter(filter) && !o.all) {
          throw new CommanderError(
            ExitCode.Usage,
            'retryctl.usage',
            'give task ids, a filter (--status, --destination-type, --client-id, --source) or --all',
          );
        }
        const common = { reason: o.reason, overrides: o.overrides };

        // A dry run is one request: the API counts.
        if (o.dryRun) {
          const target = ids.length > 0 ? { ids } : { filter };
          const result = await api.requeueDeadLetters(target, { ...common, dryRun: true, limit: o.limit });
          if (globals(cmd).json) json(result);
          else out(bulkRequeueSummary(result));
          return;
        }

        // Otherwise the API starts a job; follow it with a progress bar unless told to detach.
        const target = ids.length > 0 ? { ids } : { filter };
        const started = await api.requeueDeadLetters(target, {
          ...common,
          limit: ids.length > 0 ? undefined : o.limit,
        });
        if (o.detach) {
          if (globals(cmd).json) json(started);
          else out(`job ${started.job_id} started; follow it with: retryctl jobs watch ${started.job_id}`);
          return;
        }
        const job = await watchJob(jobContext, cmd, started.job_id);
        if (globals(cmd).json) json(job);
        else out(jobSummary(job));
      },
    );

  addJobCommands(program, jobContext);
  addDestinationCommands(program, jobContext);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander already printed its own usage messages.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.exitCode === 0) {
        return ExitCode.Ok;
      }
      if (err.code === 'retryctl.usage') io.stderr.write(`retryctl: ${err.message}\n`);
      return ExitCode.Usage;
    }
    if (err instanceof ApiRequestError) {
      io.stderr.write(
        `retryctl: ${err.body?.error ?? err.message}${err.body?.field ? ` (field: ${err.body.field})` : ''}\n`,
      );
      if (err.status === 401) io.stderr.write('retryctl: pass --api-key or set RETRY_API_KEY\n');
      return ExitCode.ApiError;
    }
    if (err instanceof ApiUnreachableError) {
      io.stderr.write(`retryctl: ${err.message} (set --api or RETRY_API_URL)\n`);
      return ExitCode.Unreachable;
    }
    io.stderr.write(`retryctl: ${(err as Error)?.message ?? String(err)}\n`);
    return ExitCode.ApiError;
  }
}
