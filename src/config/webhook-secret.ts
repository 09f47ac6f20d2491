import { registerDecorator } from 'class-validator';

const PREFIX = 'whsec_';
/** Standard base64 with its padding: what the receivers' libraries decode. Node alone would also take base64url or stray characters. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The spec's signing secret: "Random. Between 24 bytes (192 bits) and 64 bytes (512 bits)". */
const MIN_BYTES = 24;
const MAX_BYTES = 64;

/**
 * The HMAC key of a Standard Webhooks secret, `whsec_` followed by the base64 of the key, or undefined when the secret
 * has any other form. Receivers (the standardwebhooks libraries among them) base64-decode whatever follows the prefix,
 * so a secret taken any other way would sign with a key no receiver holds, and every notice would be rejected.
 */
export function webhookSecretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(PREFIX)) return undefined;
  const encoded = secret.slice(PREFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_BYTES && key.length <= MAX_BYTES ? key : undefined;
}

/** NOTIFY_WEBHOOK_SECRET's check; the message shows how to make one and, like every secret's, never the value. */
export function IsWebhookSecret() {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isWebhookSecret',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && webhookSecretKey(value) !== undefined,
        defaultMessage: () =>
          `must be whsec_ followed by the base64 of ${MIN_BYTES} to ${MAX_BYTES} random bytes, as Standard Webhooks defines it ` +
          '(make one with: echo whsec_$(openssl rand -base64 32))',
      },
    });
}
