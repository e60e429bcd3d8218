import * as destinations from '../../client/destinations';
import type { DestinationChange, DestinationView } from '../../domain/destination-pause';
import type {
  DestinationChangeResponse,
  DestinationList,
  DestinationResponse,
  PauseDestinationRequest,
  ResumeDestinationRequest,
} from '../destination-schemas';
import { DestinationNotFoundError } from '../errors';
import { withDeadline, type ApiDeps } from './deps';

/** The breaker states in the order of how bad they are. */
const breakerOrder = ['closed', 'half_open', 'open'];

/** A destination's view with the summary of its workers' breaker reports. */
function toResponse(view: DestinationView): DestinationResponse {
  const worst = view.breakers.reduce((w, b) => Math.max(w, breakerOrder.indexOf(b.breaker)), 0);
  return {
    ...view,
    breaker_state: breakerOrder[worst] ?? 'closed',
    failure_rate: view.breakers.reduce((r, b) => Math.max(r, b.failure_rate), 0),
  };
}

const changed = (c: DestinationChange): DestinationChangeResponse => ({ ...toResponse(c.view), changed: c.changed });

const ref = (deps: ApiDeps, key: string) => ({
  client: deps.client,
  taskQueue: deps.config.TASK_QUEUE,
  key,
  notify: deps.config,
});

/** POST /destinations/{key}/pause: durable and seen by every worker within DESTINATION_PAUSE_REFRESH_MS. */
export async function pause(
  deps: ApiDeps,
  key: string,
  req: PauseDestinationRequest,
): Promise<DestinationChangeResponse> {
  const change = await withDeadline(deps, () => destinations.pauseDestination(ref(deps, key), req));
  deps.logger.info({ destination: key, by: req.by, reason: req.reason, changed: change.changed }, 'destination paused');
  return changed(change);
}

/** POST /destinations/{key}/resume: waiting tasks go out in due order, DESTINATION_RESUME_PER_SECOND unless given. */
export async function resume(
  deps: ApiDeps,
  key: string,
  req: ResumeDestinationRequest,
): Promise<DestinationChangeResponse> {
  const per_second = req.per_second ?? deps.config.DESTINATION_RESUME_PER_SECOND;
  try {
    const change = await withDeadline(deps, () =>
      destinations.resumeDestination(ref(deps, key), { by: req.by, per_second }),
    );
    deps.logger.info({ destination: key, by: req.by, per_second, changed: change.changed }, 'destination resumed');
    return changed(change);
  } catch (err) {
    if (err instanceof destinations.DestinationNotFoundError) throw new DestinationNotFoundError(key);
    throw err;
  }
}

/** GET /destinations: every destination that was paused or reported by a worker, by key. */
export async function list(deps: ApiDeps): Promise<DestinationList> {
  const views = await withDeadline(deps, () => destinations.listDestinations(deps.client, deps.config.TASK_QUEUE));
  return { items: views.map(toResponse) };
}
