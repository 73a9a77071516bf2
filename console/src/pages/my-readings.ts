// A patient's own latest readings in plain words (issue #26, item 5): each kind's last reading as the
// device sent it, and whether it lies within the limits the care team set for this patient (the
// patient's effective rules), said in a sentence rather than a colour. A reading past a critical
// limit says what to do now, as the AHA's patient guidance does (clinical-billing.md §1.5).
import { displayUnit, isMeasurementKind } from '../../../device-profiles/kinds.js';
import type { Reading, Rule } from '../api-types.js';
import { html } from '../html.js';
import { ruleText } from '../rules-view.js';
import { asSent } from '../reading-text.js';

type SingleReadingRule = Extract<Rule, { type: 'threshold' | 'confirm' }>;
type Condition = SingleReadingRule['any'][number];

const KIND_NAMES: Readonly<Record<string, string>> = {
  blood_pressure: 'Blood pressure',
  glucose: 'Blood sugar',
  cgm_glucose: 'Sensor glucose',
  weight: 'Weight',
  spo2: 'Oxygen level',
  temperature: 'Temperature',
  heart_rate: 'Heart rate',
};

const SEVERITY_ORDER = ['critical', 'high', 'moderate', 'low'];

function valueOf(reading: Reading, field: string): number | undefined {
  const value = (reading as unknown as Record<string, unknown>)[field];
  return typeof value === 'number' ? value : undefined;
}

function holds(condition: Condition, reading: Reading): boolean {
  if ('flag' in condition) return (reading as unknown as Record<string, unknown>)[condition.flag] === condition.equals;
  const value = valueOf(reading, condition.field);
  if (value === undefined) return false;
  return condition.op === '>' ? value > condition.value : condition.op === '>=' ? value >= condition.value : condition.op === '<' ? value < condition.value : value <= condition.value;
}

/** "systolic 180 or more", "below 90": a bound as people say it. */
function boundText(condition: Condition, kind: string): string {
  if ('flag' in condition) return `the meter showing ${String(condition.equals)}`;
  const unit = isMeasurementKind(kind) ? displayUnit(kind) : '';
  const field = condition.field === 'value' ? '' : `${condition.field} `;
  const value = `${condition.value}${unit ? ` ${unit}` : ''}`;
  return `${field}${condition.op === '>=' ? `${value} or more` : condition.op === '>' ? `above ${value}` : condition.op === '<' ? `below ${value}` : `${value} or less`}`;
}

function verdict(reading: Reading, rules: readonly Rule[]): { outside: boolean; text: string } {
  const enabled = rules.filter((rule) => rule.kind === reading.kind && rule.enabled !== false);
  const single = enabled.filter((rule): rule is SingleReadingRule => rule.type === 'threshold' || rule.type === 'confirm');
  const matched = single.filter((rule) => rule.any.some((c) => holds(c, reading)) && (rule.all ?? []).every((c) => holds(c, reading))).sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  const worst = matched[0];
  if (worst) {
    const now =
      worst.severity !== 'critical'
        ? ''
        : reading.kind === 'blood_pressure'
          ? ' Sit quietly and measure again now, as your device asks. If you have chest pain, shortness of breath, back pain, numbness or weakness, a change in vision or trouble speaking, call 911.'
          : ' Follow the plan your care team gave you for this and call them now. In an emergency, call 911.';
    return { outside: true, text: `Outside the limits your care team set: ${worst.title}. Your care team sees this reading.${now}` };
  }
  const bounds = single.flatMap((rule) => rule.any.map((c) => boundText(c, reading.kind)));
  const watched = enabled.filter((rule) => rule.type !== 'threshold' && rule.type !== 'confirm' && rule.type !== 'missing_data' && rule.type !== 'together').map((rule) => ruleText(rule).replace(/^value /, `${(KIND_NAMES[reading.kind] ?? 'the value').toLowerCase()} `));
  const parts = [bounds.length > 0 ? `Within the limits your care team set (they are told at ${[...new Set(bounds)].join(', ')}).` : 'Your care team sees this reading.', watched.length > 0 ? `They also watch for: ${watched.join('; ')}.` : ''];
  return { outside: false, text: parts.filter(Boolean).join(' ') };
}

export function MyReadings({ readings, rules, timezone }: { readings: Reading[]; rules: readonly Rule[] | undefined; timezone: string }) {
  const at = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: timezone });
  return html`<section aria-labelledby="my-readings-heading" class="my-readings">
    <h2 id="my-readings-heading">My latest readings</h2>
    ${readings.length === 0
      ? html`<p>No readings yet. Your devices send them when you measure.</p>`
      : html`<ul>
          ${[...readings].sort((a, b) => a.kind.localeCompare(b.kind)).map((reading) => {
            const said = rules ? verdict(reading, rules) : undefined;
            return html`<li class=${said?.outside ? 'outside' : ''}>
              <strong>${KIND_NAMES[reading.kind] ?? reading.kind}: ${asSent(reading)}</strong>, <time datetime=${reading.measuredAt}>${at.format(new Date(reading.measuredAt))}</time>
              ${said ? html`<p>${said.text}</p>` : null}
            </li>`;
          })}
        </ul>`}
  </section>`;
}
