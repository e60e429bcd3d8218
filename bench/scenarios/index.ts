import type { Scenario } from '../lib/cli';
import { firstTryScenario } from './first-try';
import { intakeScenario } from './intake';
import { jobsScenario } from './jobs';
import { microScenario } from './micro';
import { receiverAckScenario } from './receiver-ack';
import { orderedScenario } from './ordered';
import { profilesScenario } from './profiles';
import { retryHeavyScenario } from './retry-heavy';
import { scaleScenario } from './scale';
import { timerScenario } from './timer';

export type { Scenario } from '../lib/cli';

/** Every `npm run bench -- <name>` scenario; `all` runs them in this order. */
export const scenarios: Record<string, Scenario> = {
  micro: microScenario,
  intake: intakeScenario,
  'first-try': firstTryScenario,
  'retry-heavy': retryHeavyScenario,
  timer: timerScenario,
  scale: scaleScenario,
  'receiver-ack': receiverAckScenario,
  ordered: orderedScenario,
  profiles: profilesScenario,
  jobs: jobsScenario,
};
