// pino, JSON lines. Tokens and keys are redacted wherever they appear in a logged
// object, and URLs with credentials are masked before they are logged.
import pino from 'pino';

export type Logger = pino.Logger;

const REDACT = [
  'token', 'key', 'secret', 'password', 'authorization', 'apikey', 'serviceRoleKey',
  '*.token', '*.key', '*.secret', '*.password', '*.authorization', '*.apikey', '*.serviceRoleKey',
  'headers.authorization', 'headers["x-telegram-bot-api-secret-token"]', 'payload', '*.payload',
];

export function createLogger(opts: { level?: string; instanceId?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.instanceId ? { instance: opts.instanceId } : undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // Synchronous: a line logged just before process.exit must not be lost.
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Removes secrets from free text (error messages can quote a URL or a bot token). */
export function scrub(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/[^:\s/]+:)[^@\s]+@/g, '$1***@')
    .replace(/\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/g, '<bot-token>')
    .replace(/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, '<jwt>')
    .replace(/\bsk-[A-Za-z0-9_-]{16,}\b/g, '<api-key>');
}
