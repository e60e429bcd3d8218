export { retryTask } from './retry-task';
export { orderingKey } from './ordering-key';
