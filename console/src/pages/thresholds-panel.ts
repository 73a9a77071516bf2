// The patient's effective rules, and for physicians and admins a form that changes them: each bound,
// window and on/off switch is a field; the API validates the whole set (rules/rule-definitions.ts)
// and its errors are shown on the field they name ("body/rules/bp-crisis/retakeWindowMinutes: …").
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { useState } from 'preact/hooks';
import { ApiFailure, api, session } from '../api.js';
import type { Rule, Thresholds } from '../api-types.js';
import { html } from '../html.js';
import { conditionText, isNumeric, opText, ruleText, unitOf } from '../rules-view.js';
import { severityText } from '../severity.js';

/** The numeric settings of each rule type, besides its conditions, with what they mean. */
const SETTINGS: Readonly<Record<string, readonly { key: string; label: string }[]>> = {
  confirm: [{ key: 'retakeWindowMinutes', label: 'retake window (minutes)' }],
  consecutive: [{ key: 'count', label: 'readings in a row' }],
  average: [
    { key: 'windowDays', label: 'window (days)' },
    { key: 'minReadings', label: 'fewest readings' },
  ],
  delta: [
    { key: 'increaseAbove', label: 'rise above' },
    { key: 'windowHours', label: 'within (hours)' },
  ],
  missing_data: [{ key: 'afterHours', label: 'after (hours)' }],
};

type Draft = Record<string, Rule>;

/** The id of the field an API error path names: `rules/bp-crisis/any/0/value` → `th-rules-bp-crisis-any-0-value`. */
const fieldId = (path: string) => `th-${path.replace(/\//g, '-')}`;

/** The override of one rule: the fields the form changed, on top of what was stored before. */
function changedFields(before: Rule, after: Rule): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (JSON.stringify(value) !== JSON.stringify((before as Record<string, unknown>)[key])) change[key] = value;
  }
  return change;
}

export function ThresholdsPanel({ patientId, thresholds, onSaved }: { patientId: string; thresholds: Thresholds; onSaved: (next: Thresholds) => void }) {
  const [draft, setDraft] = useState<Draft | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const mayEdit = session.me?.user.role === 'physician' || session.me?.user.role === 'admin';
  const rules = thresholds.effectiveRules;

  const edit = () => {
    setDraft(Object.fromEntries(rules.map((rule) => [rule.id, structuredClone(rule)])));
    setReason(thresholds.overrides.reason ?? '');
    setErrors({});
    setSaved(false);
  };
  /** Sets a value at a path inside one rule of the draft (`['any', 0, 'value']`). */
  const change = (ruleId: string, path: (string | number)[], value: unknown) => {
    if (!draft) return;
    const rule = structuredClone(draft[ruleId]!) as unknown as Record<string | number, unknown>;
    let target = rule;
    for (const step of path.slice(0, -1)) target = target[step] as Record<string | number, unknown>;
    target[path[path.length - 1]!] = value;
    setDraft({ ...draft, [ruleId]: rule as unknown as Rule });
  };
  const numberInput = (rule: Rule, path: (string | number)[], label: string, value: number) => {
    const id = fieldId(['rules', rule.id, ...path].join('/'));
    const error = errors[id];
    return html`<span class="field">
      <input id=${id} type="number" step="any" required class="number" aria-label=${`${rule.title}: ${label}`} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${error ? `${id}-error` : undefined} value=${String(value)}
        onInput=${(e: Event) => {
          const text = (e.target as HTMLInputElement).value;
          change(rule.id, path, text === '' ? Number.NaN : Number(text));
        }} />
      ${error ? html`<span class="error field-error" id=${`${id}-error`}>${error}</span>` : null}
    </span>`;
  };

  const save = async (event: Event) => {
    event.preventDefault();
    if (!draft) return;
    // Checked here first only for what cannot be sent at all; every other check is the API's.
    const blank = Object.values(draft).flatMap((rule) => [...('any' in rule ? rule.any.map((c, i) => (isNumeric(c) && Number.isNaN(c.value) ? `rules/${rule.id}/any/${i}/value` : '')) : []), ...(SETTINGS[rule.type] ?? []).map((s) => (Number.isNaN((rule as unknown as Record<string, number>)[s.key]) ? `rules/${rule.id}/${s.key}` : ''))]).filter(Boolean);
    const missing: Record<string, string> = Object.fromEntries(blank.map((path) => [fieldId(path), 'enter a number']));
    if (!reason.trim()) missing['th-reason'] = 'say why the thresholds change (clinical-billing.md §6: every override carries its reason)';
    if (Object.keys(missing).length > 0) {
      setErrors(missing);
      return;
    }
    const stored = thresholds.overrides.rules ?? {};
    const overrides: Record<string, Record<string, unknown>> = { ...stored };
    for (const rule of rules) {
      const changed = changedFields(rule, draft[rule.id]!);
      if (Object.keys(changed).length > 0) overrides[rule.id] = { ...(stored[rule.id] ?? {}), ...changed };
    }
    try {
      const next = await api<Thresholds>('PUT', `/v1/patients/${encodeURIComponent(patientId)}/thresholds`, { rules: overrides, extraRules: thresholds.overrides.extraRules ?? [], reason });
      setDraft(undefined);
      setErrors({});
      setSaved(true);
      onSaved(next);
    } catch (failure) {
      setErrors(failure instanceof ApiFailure && failure.status === 400 ? fieldErrors(failure.message, (path) => (document.getElementById(fieldId(path)) ? fieldId(path) : undefined)) : { '': (failure as Error).message });
    }
  };

  const conditionCells = (rule: Rule, editing: boolean) => {
    if (!('any' in rule)) {
      const settings = SETTINGS[rule.type] ?? [];
      if (!editing) return ruleText(rule);
      return html`${settings.map((s) => html`${s.label} ${numberInput(rule, [s.key], s.label, (rule as unknown as Record<string, number>)[s.key]!)} `)}${rule.type === 'delta' ? unitOf(rule.kind) : ''}`;
    }
    if (!editing) return ruleText(rule);
    const unit = unitOf(rule.kind);
    return html`${rule.any.map((condition, index) =>
      isNumeric(condition)
        ? html`${index > 0 ? ' or ' : ''}${condition.field} ${opText(condition.op)} ${numberInput(rule, ['any', index, 'value'], `${condition.field} ${opText(condition.op)} (${unit})`, condition.value)} ${unit}`
        : html`${index > 0 ? ' or ' : ''}${condition.flag} is ${String(condition.equals)}`,
    )}
    ${(SETTINGS[rule.type] ?? []).map((s) => html`<br />${s.label} ${numberInput(rule, [s.key], s.label, (rule as unknown as Record<string, number>)[s.key]!)}`)}`;
  };

  /** A threshold rule's clear level (hysteresis: the episode ends and the rule re-arms there); every condition must hold. */
  const clearText = (rule: Rule) =>
    rule.type === 'threshold' && rule.clear ? rule.clear.map((condition) => conditionText(condition, rule.kind)).join(' and ') : '—';

  const reasonField = formFields(errors);
  const shown = draft ? rules.map((rule) => draft[rule.id]!) : rules;
  return html`<section aria-labelledby="thresholds-heading">
    <h2 id="thresholds-heading">Thresholds</h2>
    <p class="hint">
      ${thresholds.updatedAt ? `Changed for this patient by ${thresholds.updatedBy ?? 'unknown'} on ${new Date(thresholds.updatedAt).toLocaleString()}${thresholds.overrides.reason ? `: ${thresholds.overrides.reason}` : ''}.` : 'The program defaults, each with its clinical source.'}
      ${saved ? html` <strong role="status">Saved.</strong>` : null}
    </p>
    ${mayEdit && !draft ? html`<button type="button" class="secondary" onClick=${edit}>Edit thresholds</button>` : null}
    <form onSubmit=${save} noValidate>
      ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not saved: see the fields marked below.</p>` : null}
      <table class="thresholds">
        <caption>Rules in effect for this patient (values in the kind's unit)</caption>
        <thead><tr><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">Fires when</th><th scope="col">Clears when</th><th scope="col">On</th></tr></thead>
        <tbody>
          ${shown.map(
            (rule) => html`<tr data-rule=${rule.id}>
              <th scope="row">${rule.title}${rule.source ? html`<br /><small class="source">${rule.source}</small>` : null}</th>
              <td><span class=${`badge severity-${rule.severity}`}>${severityText(rule.severity)}</span></td>
              <td>${conditionCells(rule, draft !== undefined)}${thresholds.overrides.rules?.[rule.id] ? html`<br /><small class="source">changed for this patient (the title is the program's default)</small>` : null}</td>
              <td class="clear-level">${clearText(rule)}</td>
              <td>
                ${draft
                  ? html`<input type="checkbox" id=${fieldId(`rules/${rule.id}/enabled`)} aria-label=${`${rule.title}: on`} checked=${rule.enabled !== false} onChange=${(e: Event) => change(rule.id, ['enabled'], (e.target as HTMLInputElement).checked)} />`
                  : rule.enabled === false
                    ? 'off'
                    : 'on'}
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${draft
        ? html`${reasonField.field(
              'th-reason',
              'Reason for the change (kept with the thresholds)',
              html`<textarea id="th-reason" required rows="2" ...${reasonField.aria('th-reason')} value=${reason} onInput=${(e: Event) => setReason((e.target as HTMLTextAreaElement).value)}></textarea>`,
            )}
            <div class="actions"><button type="submit">Save thresholds</button><button type="button" class="secondary" onClick=${() => { setDraft(undefined); setErrors({}); }}>Cancel</button></div>`
        : null}
    </form>
  </section>`;
}
