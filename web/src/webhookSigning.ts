// Signing secret and rate limit of a webhook: turn the form's inputs into the API fields.
// The webhook API keeps the stored secret when hmacSecret is absent or "***", and an empty
// string turns signing off.

export const DEFAULT_RATE_LIMIT = 30;
export const MAX_RATE_LIMIT = 600;

export interface SigningInput {
  /** Text typed into the secret field; empty means "no change". */
  secret: string;
  /** The user asked to remove the stored secret. */
  removeSecret: boolean;
  /** Text of the deliveries-per-minute field. */
  rateLimit: string;
}

export interface SigningFields {
  hmacSecret?: string;
  rateLimitPerMinute: number;
}

/** Convert the form's inputs to API fields; throws an Error that names the field when one is invalid. */
export function signingFields(input: SigningInput): SigningFields {
  const text = input.rateLimit.trim();
  const rate = Number(text);
  if (!text || !Number.isInteger(rate) || rate < 1 || rate > MAX_RATE_LIMIT) {
    throw new Error(`Rate limit must be a whole number of deliveries per minute from 1 to ${MAX_RATE_LIMIT}, got "${input.rateLimit}".`);
  }
  const fields: SigningFields = { rateLimitPerMinute: rate };
  const secret = input.secret.trim();
  if (secret) fields.hmacSecret = secret;
  else if (input.removeSecret) fields.hmacSecret = "";
  return fields;
}
