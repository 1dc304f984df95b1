// The detail panel's place in the hash URL: "#/overview?guest=<id>" or "#/overview?node=<id>".
// Keeping it in the URL makes a panel linkable, lets the back button close it and closes it
// whenever the route changes to an address without it.

export type Selection = { kind: "guest" | "node"; id: string } | null;

const KINDS = ["guest", "node"] as const;

/** Return the panel named by the hash's query parameters, or null when there is none. */
export function selectionFromParams(params: URLSearchParams): Selection {
  for (const kind of KINDS) {
    const id = params.get(kind);
    if (id) return { kind, id };
  }
  return null;
}

/** Return `hash` with its panel parameter replaced by `selection`, or removed for null. Other parameters stay. */
export function hashWithSelection(hash: string, selection: Selection): string {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split("?", 2);
  const params = new URLSearchParams(query);
  for (const kind of KINDS) params.delete(kind);
  if (selection) params.set(selection.kind, selection.id);
  const rest = params.toString();
  return `#/${path}${rest ? `?${rest}` : ""}`;
}
