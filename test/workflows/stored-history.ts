import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
const { History } = temporal.api.history.v1;

/**
 * Histories are stored as protobufjs' JSON object form (enum names, 64-bit numbers and bytes as strings). The SDK's
 * `historyToJSON` would give the canonical proto-JSON, but in this install it trips over two copies of protobufjs
 * ("type must be a Type"); this form round-trips through the one copy @temporalio/proto uses.
 */
export function historyToStoredJson(history: History): string {
  const object = History.toObject(History.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
    defaults: false,
  });
  return `${JSON.stringify(object, null, 1)}\n`;
}

/** Reads a history written by {@link historyToStoredJson}. */
export function historyFromStoredJson(json: string): History {
  return History.fromObject(JSON.parse(json));
}
