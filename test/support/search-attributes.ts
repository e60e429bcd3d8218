import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { searchAttributeDefinitions } from '../../domain/search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const types = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
} as const;

/** Registers the task search attributes on a server that does not have them yet (the time-skipping test server). */
export async function registerSearchAttributes(connection: Connection, namespace = 'default'): Promise<void> {
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      Object.entries(searchAttributeDefinitions).map(([name, type]) => [name, types[type]]),
    ),
  });
}
