/**
 * What the server logs through: any pino-compatible logger (pino itself,
 * or a child of one). Only these three methods are called, always with an
 * object first and a message second, as pino takes them.
 */
export interface ServerLogger {
  /** Normal operation: the server started, a rate-limit counter fell back to memory. */
  info(fields: Record<string, unknown>, message: string): void;
  /** Something refused: a forged webhook, a rate-limited client. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** A failure the server answered 500 for. */
  error(fields: Record<string, unknown>, message: string): void;
}

/** Where an error happened, as {@link ServerOptions.onError} is told. */
export interface ServerErrorContext {
  /** The request method. */
  readonly method: string;
  /** The matched route pattern, such as `/v1/leads/:id` (never the raw URL, which may hold a token). */
  readonly route: string;
}

/** A logger that drops everything: the default. */
export const silentLogger: ServerLogger = {
  info() {},
  warn() {},
  error() {},
};

/**
 * A logger writing one JSON line per entry to `write` (default stderr), in
 * pino's shape (`level`, `time`, `msg`, then the fields): for the CLI and
 * hosts without pino.
 */
export function createJsonLineLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
): ServerLogger {
  const emit = (level: number, fields: Record<string, unknown>, message: string) =>
    write(`${JSON.stringify({ level, time: Date.now(), msg: message, ...fields })}\n`);
  return {
    info: (fields, message) => emit(30, fields, message),
    warn: (fields, message) => emit(40, fields, message),
    error: (fields, message) => emit(50, fields, message),
  };
}
