import {
  type EmailProviderDescriptor,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import {
  createSmtp,
  SMTP_HOST_ENV,
  SMTP_PASS_ENV,
  SMTP_PORT_ENV,
  SMTP_USER_ENV,
  type SmtpProvider,
} from './smtp-provider.js';
import type { SmtpProviderSettings } from './smtp-settings.js';

/** The environment variable that turns on implicit TLS (`true`/`false`). */
const SMTP_SECURE_ENV = 'SMTP_SECURE';
/** The environment variable that can turn off the STARTTLS requirement (`false`, for a local relay). */
const SMTP_REQUIRE_TLS_ENV = 'SMTP_REQUIRE_TLS';

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  const lacking: MissingVendorVariable[] = [];
  if (readVendorVariable(env, SMTP_HOST_ENV) === undefined) {
    lacking.push({ option: 'host', variables: SMTP_HOST_ENV });
  }
  if (
    readVendorVariable(env, SMTP_USER_ENV) !== undefined &&
    readVendorVariable(env, SMTP_PASS_ENV) === undefined
  ) {
    lacking.push({ option: 'pass', variables: SMTP_PASS_ENV });
  }
  return lacking;
}

function flag(env: VendorEnvironment, name: string): boolean | undefined {
  const value = readVendorVariable(env, name)?.toLowerCase();
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  // Passed on as text so the settings check names the variable's option and the reason.
  return value as unknown as boolean;
}

/**
 * SMTP as a plug-in: `smtp`, an email provider built by {@link createSmtp},
 * from `SMTP_HOST` (required), `SMTP_PORT`, `SMTP_USER` and `SMTP_PASS`
 * (required when a user is set), `SMTP_SECURE` and `SMTP_REQUIRE_TLS`.
 *
 * @example
 * ```ts
 * const smtp = smtpDescriptor.fromEnv(process.env);
 * ```
 */
export const smtpDescriptor: EmailProviderDescriptor<SmtpProvider, SmtpProviderSettings> = {
  specificationVersion: 'v1',
  id: 'smtp',
  kind: 'email',
  displayName: 'SMTP',
  environment: [
    { name: SMTP_HOST_ENV, option: 'host', secret: false, description: 'SMTP server host name' },
    {
      name: SMTP_PORT_ENV,
      option: 'port',
      secret: false,
      description: 'SMTP server port (default 587, 465 with SMTP_SECURE)',
    },
    { name: SMTP_USER_ENV, option: 'user', secret: false, description: 'SMTP AUTH user name' },
    { name: SMTP_PASS_ENV, option: 'pass', secret: true, description: 'SMTP AUTH password' },
    {
      name: SMTP_SECURE_ENV,
      option: 'secure',
      secret: false,
      description: 'true for implicit TLS (port 465)',
    },
    {
      name: SMTP_REQUIRE_TLS_ENV,
      option: 'requireTLS',
      secret: false,
      description: 'false to allow a clear-text local relay (default true: STARTTLS required)',
    },
  ],
  create: (settings) => createSmtp(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('smtp', 'SMTP', lacking);
    const port = readVendorVariable(env, SMTP_PORT_ENV);
    const user = readVendorVariable(env, SMTP_USER_ENV);
    const secure = flag(env, SMTP_SECURE_ENV);
    const requireTLS = flag(env, SMTP_REQUIRE_TLS_ENV);
    return createSmtp({
      host: readVendorVariable(env, SMTP_HOST_ENV),
      ...(port !== undefined && { port: Number(port) }),
      ...(user !== undefined && { user, pass: readVendorVariable(env, SMTP_PASS_ENV, true) }),
      ...(secure !== undefined && { secure }),
      ...(requireTLS !== undefined && { requireTLS }),
    });
  },
  emulatorSettings(emulator) {
    // An SMTP emulator (the tests' smtp-server, Mailpit) gives `baseUrl` as smtp://host:port.
    const url = new URL(emulator.urls.baseUrl ?? 'smtp://127.0.0.1:25');
    return {
      host: url.hostname,
      port: Number(url.port || 25),
      requireTLS: false,
      ...(emulator.credentials.user !== undefined && { user: emulator.credentials.user }),
      ...(emulator.credentials.pass !== undefined && { pass: emulator.credentials.pass }),
      ...(emulator.limits && { rateLimits: emulator.limits }),
    };
  },
};
