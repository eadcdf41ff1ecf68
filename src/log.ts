import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config';

/**
 * JSON logs to stdout (or a given stream, for tests). Container `Env` values never reach a log line:
 * the enforcer logs ids, names, images and rule names, never params; the redaction is a second guard.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'docker-enforcer' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.Env', '*.*.Env', '*.Config.Env', 'params', '*.params'], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
