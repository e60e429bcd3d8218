import type { StackOptions } from './index';

/**
 * The `dev` stack as the environment places it (`npm start`, `npm run stack`): STACK_DATA_DIR and the STACK_*_PORT
 * variables move it; unset ones keep the defaults (.stack/data, 7233, 8233, 9092, 9093).
 */
export function devStackOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StackOptions {
  const port = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    mode: 'dev',
    dataDir: env.STACK_DATA_DIR,
    ports: {
      temporal: port('STACK_TEMPORAL_PORT'),
      temporalUi: port('STACK_TEMPORAL_UI_PORT'),
      kafka: port('STACK_KAFKA_PORT'),
      kafkaController: port('STACK_KAFKA_CONTROLLER_PORT'),
    },
  };
}
