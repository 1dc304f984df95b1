// The node form fields that decide the connection: a change to one makes an earlier connection test stale.

/** Fields that the connection test sends to the node. The display name and the enabled switch are not among them. */
export const CONNECTION_FIELDS = [
  "type",
  "host",
  "auth",
  "user",
  "tokenName",
  "tokenValue",
  "password",
  "verifySSL",
  "fingerprint",
] as const;

/** Report whether a form change touches a connection field, so an earlier test result no longer applies. */
export function touchesConnection(patch: Record<string, unknown>): boolean {
  return Object.keys(patch).some((key) => (CONNECTION_FIELDS as readonly string[]).includes(key));
}
