export { retryTask } from './retry-task';
export { bulkJob } from './bulk-job';
export { orderingKey } from './ordering-key';
export { destinationControl } from './destination-control';
export { lifecycleNotifier } from './lifecycle-notifier';
export { orderingOrphanTurn } from './ordering-orphan';
