import pino, { type Logger } from 'pino';

/** Structured JSON logs. Secrets and message bodies are never logged by default (redaction as a second line). */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'retry-service'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        '*.message_data',
        '*.secret',
        '*.secrets',
        'req.headers.authorization',
        '*.headers.authorization',
        '*.token',
        '*.headers["x-ack-token"]',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
