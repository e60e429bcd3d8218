import type { Command } from 'commander';
import type { Destination } from './api-client';
import type { JobCommandContext } from './jobs-commands';

/** One line per destination: key, state, tasks waiting, breaker, failure rate, and since when / why it is paused. */
function destinationLine(d: Destination): string {
  const paused =
    d.state === 'paused' ? `  paused ${d.paused_at ?? ''} by ${d.paused_by ?? '?'}: ${d.reason ?? ''}` : '';
  const rate = `${Math.round(d.failure_rate * 100)}%`;
  return `${d.key}  ${d.state}  waiting ${d.tasks_waiting}  breaker ${d.breaker_state}  failing ${rate}${paused}`;
}

/** `retryctl destinations list|pause|resume`: hold a failing destination's tasks and release them paced. */
export function addDestinationCommands(program: Command, ctx: JobCommandContext): void {
  const destinations = program
    .command('destinations')
    .description('destinations (HTTP origins, Kafka topics): pause, resume, and their state');
  const print = (cmd: Command, value: Destination | Destination[]) => {
    if (ctx.json(cmd)) ctx.out(JSON.stringify(value, null, 2));
    else ctx.out((Array.isArray(value) ? value : [value]).map(destinationLine).join('\n') || 'no destinations');
  };

  destinations
    .command('list')
    .description('every known destination with its state, tasks waiting and breaker state')
    .action(async (_o: unknown, cmd: Command) => print(cmd, (await ctx.client(cmd).listDestinations()).items));

  destinations
    .command('pause')
    .description('pause a destination: its tasks wait (state paused) and make no attempts')
    .argument('<key>', 'destination key: an HTTP origin (https://host:port) or kafka://brokers/topic')
    .option('--reason <text>', 'why (shown in the list)')
    .option('--by <name>', 'who pauses')
    .action(async (key: string, o: { reason?: string; by?: string }, cmd: Command) =>
      print(cmd, await ctx.client(cmd).pauseDestination(key, o)),
    );

  destinations
    .command('resume')
    .description('resume a destination: its waiting tasks go out in due order, paced')
    .argument('<key>', 'destination key')
    .option('--per-second <n>', 'tasks released per second (API default DESTINATION_RESUME_PER_SECOND)')
    .option('--by <name>', 'who resumes')
    .action(async (key: string, o: { perSecond?: string; by?: string }, cmd: Command) =>
      print(
        cmd,
        await ctx
          .client(cmd)
          .resumeDestination(key, { by: o.by, per_second: o.perSecond ? Number(o.perSecond) : undefined }),
      ),
    );
}
