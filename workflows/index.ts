export { retryTask } from './retry-task';
