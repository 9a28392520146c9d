import pino, { type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; secrets and PII are redacted wherever they appear. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
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
  });
}
