import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { ErrorBox, Notice, Section, useAction, useAsync } from "../../components/ui";
import { stateStore, useStore } from "../../store";
import { emptyFieldHint, fieldLabel, orderFields } from "./thresholdLabels";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { [key: string]: Json };


function setPath(doc: Doc, path: string[], value: Json): Doc {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...doc, [head]: value };
  return { ...doc, [head]: setPath((doc[head] as Doc) ?? {}, rest, value) };
}

const LEVELS = ["warning", "critical"];
// Number fields the API allows to be null; they get the room for their empty-field placeholder.
const NULLABLE_FIELDS = new Set(["critical", "delaySeconds"]);

interface EditorProps {
  doc: Doc;
  path: string[];
  onChange: (path: string[], value: Json) => void;
  /** The document's top-level "defaultDelaySeconds", which an empty delay field inherits. */
  defaultDelay: Json;
}

/** Render one level of the threshold document: numbers, switches and nested groups. */
function Editor({ doc, path, onChange, defaultDelay }: EditorProps) {
  const entries = orderFields(Object.entries(doc), path[path.length - 1]);
  const scalars = entries.filter(([, value]) => value === null || typeof value !== "object" || Array.isArray(value));
  const groups = entries.filter(([, value]) => value !== null && typeof value === "object" && !Array.isArray(value));
  const id = (key: string) => ["threshold", ...path, key].join("-");
  return (
    <>
      {scalars.length ? (
        <div class="threshold-fields">
          {scalars.map(([key, value]) => {
            const label = fieldLabel(key);
            if (typeof value === "boolean") {
              return (
                <label class="checkbox" key={key}>
                  <input type="checkbox" checked={value} onChange={(event) => onChange([...path, key], event.currentTarget.checked)} />
                  {label}
                </label>
              );
            }
            if (key === "level") {
              return (
                <label key={key} for={id(key)}>
                  {label}
                  <select id={id(key)} value={String(value)} onChange={(event) => onChange([...path, key], event.currentTarget.value)}>
                    {LEVELS.map((level) => (
                      <option key={level}>{level}</option>
                    ))}
                  </select>
                </label>
              );
            }
            if (typeof value === "string") {
              return (
                <label key={key} for={id(key)}>
                  {label}
                  <input id={id(key)} type="text" value={value} onInput={(event) => onChange([...path, key], event.currentTarget.value)} />
                </label>
              );
            }
            return (
              <label key={key} for={id(key)}>
                {label}
                <input
                  id={id(key)}
                  type="number"
                  step="any"
                  class={value === null || NULLABLE_FIELDS.has(key) ? "empty-hint" : undefined}
                  value={value === null ? "" : String(value)}
                  placeholder={value === null ? emptyFieldHint(key, defaultDelay) : undefined}
                  onInput={(event) => {
                    const raw = event.currentTarget.value;
                    onChange([...path, key], raw === "" ? null : Number(raw));
                  }}
                />
              </label>
            );
          })}
        </div>
      ) : null}
      {groups.map(([key, value]) => (
        <fieldset key={key} class={`threshold-group depth-${path.length}`}>
          <legend>{fieldLabel(key)}</legend>
          <Editor doc={value as Doc} path={[...path, key]} onChange={onChange} defaultDelay={defaultDelay} />
        </fieldset>
      ))}
    </>
  );
}

interface MetricOverride {
  enabled?: boolean | null;
  trigger?: number | null;
  clear?: number | null;
}

interface Override {
  disabled: boolean;
  metrics: Record<string, MetricOverride>;
  note: string;
}

const OVERRIDE_METRICS = ["cpu", "memory", "disk", "usage"];

function Overrides() {
  const state = useStore(stateStore);
  const loaded = useAsync((signal) => api.get<{ overrides: Record<string, Override> }>("/api/notifications/thresholds/overrides", signal), []);
  const [overrides, setOverrides] = useState<Record<string, Override>>({});
  const [target, setTarget] = useState("");
  const action = useAction();
  useEffect(() => {
    if (loaded.data) setOverrides(loaded.data.overrides ?? {});
  }, [loaded.data]);

  const names = new Map<string, string>();
  for (const guest of [...state.vms, ...state.containers]) names.set(guest.id, `${guest.name} (${guest.vmid})`);
  for (const node of state.nodes) names.set(node.id, `node ${node.name}`);
  for (const storage of state.storage) names.set(storage.id, `storage ${storage.name} on ${storage.node}`);
  const tags = [...new Set([...state.vms, ...state.containers].flatMap((guest) => guest.tags))].sort();

  const update = (key: string, change: Partial<Override>) => setOverrides({ ...overrides, [key]: { ...overrides[key], ...change } });
  const setMetric = (key: string, metric: string, field: keyof MetricOverride, value: number | null) => {
    const current = overrides[key];
    const metricValue = { ...(current.metrics[metric] ?? {}), [field]: value };
    update(key, { metrics: { ...current.metrics, [metric]: metricValue } });
  };
  const add = () => {
    if (!target || overrides[target]) return;
    setOverrides({ ...overrides, [target]: { disabled: false, metrics: {}, note: "" } });
    setTarget("");
  };
  const remove = (key: string) => {
    const next = { ...overrides };
    delete next[key];
    setOverrides(next);
  };
  const save = () =>
    action.run(async () => {
      // Drop metric entries left empty so they inherit the defaults.
      const cleaned: Record<string, Override> = {};
      for (const [key, value] of Object.entries(overrides)) {
        const metrics: Record<string, MetricOverride> = {};
        for (const [metric, fields] of Object.entries(value.metrics)) {
          const kept = Object.fromEntries(Object.entries(fields).filter(([, item]) => item !== null && item !== undefined));
          if (Object.keys(kept).length) metrics[metric] = kept;
        }
        cleaned[key] = { ...value, metrics };
      }
      const result = await api.post<{ overrides: Record<string, Override> }>("/api/notifications/thresholds/overrides", { overrides: cleaned });
      setOverrides(result.overrides ?? cleaned);
      return "Overrides saved.";
    });

  return (
    <Section title="Overrides">
      <p class="muted">Per resource, or per Proxmox tag for every guest with that tag. Empty fields use the defaults above.</p>
      <ErrorBox error={loaded.error} onRetry={loaded.reload} />
      <div class="inline-form">
        <label for="override-target">
          Add an override for{" "}
          <select id="override-target" value={target} onChange={(event) => setTarget(event.currentTarget.value)}>
            <option value="">Choose…</option>
            <optgroup label="Tags">
              {tags.map((tag) => (
                <option key={tag} value={`tag:${tag}`}>
                  tag {tag}
                </option>
              ))}
            </optgroup>
            <optgroup label="Resources">
              {[...names.entries()]
                .sort((a, b) => a[1].localeCompare(b[1]))
                .map(([id, label]) => (
                  <option key={id} value={id}>
                    {label}
                  </option>
                ))}
            </optgroup>
          </select>
        </label>
        <button type="button" class="button" onClick={add} disabled={!target}>
          Add
        </button>
      </div>
      {Object.entries(overrides).map(([key, value]) => (
        <fieldset class="threshold-group" key={key}>
          <legend>{key.startsWith("tag:") ? `Tag ${key.slice(4)}` : names.get(key) ?? key}</legend>
          <label class="checkbox">
            <input type="checkbox" checked={value.disabled} onChange={(event) => update(key, { disabled: event.currentTarget.checked })} />
            Disable all alerts
          </label>
          <div class="threshold-fields">
            {OVERRIDE_METRICS.map((metric) =>
              (["trigger", "clear"] as const).map((field) => (
                <label key={`${metric}-${field}`}>
                  {fieldLabel(metric)} {field} %
                  <input
                    type="number"
                    step="any"
                    value={value.metrics[metric]?.[field] ?? ""}
                    placeholder="default"
                    onInput={(event) => setMetric(key, metric, field, event.currentTarget.value === "" ? null : Number(event.currentTarget.value))}
                  />
                </label>
              )),
            )}
            <label>
              Note
              <input value={value.note} maxLength={500} onInput={(event) => update(key, { note: event.currentTarget.value })} />
            </label>
          </div>
          <button type="button" class="button small danger" onClick={() => remove(key)}>
            Remove override
          </button>
        </fieldset>
      ))}
      <ErrorBox error={action.error} />
      {action.message ? <Notice kind="success">{action.message}</Notice> : null}
      <div class="form-actions">
        <button type="button" class="button primary" onClick={save} disabled={action.busy}>
          Save overrides
        </button>
      </div>
    </Section>
  );
}

export function ThresholdSettings() {
  const loaded = useAsync((signal) => api.get<Doc>("/api/notifications/thresholds", signal), []);
  const [doc, setDoc] = useState<Doc | null>(null);
  const action = useAction();
  useEffect(() => {
    if (loaded.data) setDoc(loaded.data);
  }, [loaded.data]);
  const save = () =>
    action.run(async () => {
      if (!doc) return;
      setDoc(await api.post<Doc>("/api/notifications/thresholds", doc));
      return "Thresholds saved.";
    });
  return (
    <>
      <Section title="Alert thresholds">
        <p class="muted">An alert starts when a value reaches the trigger and ends when it falls below clear. Percent values are 0–100.</p>
        <ErrorBox error={loaded.error} onRetry={loaded.reload} />
        {doc ? (
          <form
            class="form thresholds"
            aria-label="Alert thresholds"
            onSubmit={(event) => {
              event.preventDefault();
              save();
            }}
          >
            <Editor
              doc={doc}
              path={[]}
              onChange={(path, value) => setDoc(setPath(doc, path, value))}
              defaultDelay={doc.defaultDelaySeconds}
            />
            <ErrorBox error={action.error} />
            {action.message ? <Notice kind="success">{action.message}</Notice> : null}
            <div class="form-actions">
              <button type="submit" class="button primary" disabled={action.busy}>
                Save thresholds
              </button>
            </div>
          </form>
        ) : null}
      </Section>
      <Overrides />
    </>
  );
}
