import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON logger per process; secrets and PII are redacted wherever they appear.
 * `destination` defaults to stdout; tests pass an in-memory stream to read what is logged.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'lifeline', ...base },
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'accessToken',
        '*.accessToken',
        'refreshToken',
        '*.refreshToken',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'email',
        '*.email',
        'phone',
        '*.phone',
        'variables',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
