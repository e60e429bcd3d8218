import type { DestinationAdapter } from '../adapter';
import { deliverHttpOnce } from './deliver';

/** HTTP webhooks: one request per attempt through the SSRF-guarded pool, signed when the destination asks. */
export const httpAdapter: DestinationAdapter<'http'> = { deliverOnce: deliverHttpOnce };
