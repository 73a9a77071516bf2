// The rules of one patient as a pure step function: (state, event) → signals. The engine keeps one
// state per patient inside its stream (scan); side effects (store, notifiers) happen downstream.
// Readings are evaluated at their measuredAt, so a gateway uploading yesterday's history is judged
// against yesterday's window, not today's.
import { DAY_MS, HOUR_MS, KG_PER_LB, MINUTE_MS, displayUnit as measurementUnit, moreSevere, sentAsText, type MeasurementKind } from '../device-profiles/index.js';
import type { AlertSeverity } from '../store/index.js';
import type { AverageRule, Condition, ConfirmRule, ConsecutiveRule, DeltaRule, RateRule, RuleDefinition, SustainedRule, ThresholdRule, TogetherRule } from './rule-definitions.js';
import { toRuleReading, type RuleKind, type RuleReading } from './rule-reading.js';
import { WindowSums } from './window-sums.js';

export { toRuleReading, type RuleReading };

/** A check-in's scores have no unit. */
const displayUnit = (kind: RuleKind): string => (kind === 'check_in' ? '' : measurementUnit(kind));

/** Kinds judged as streams: their history is kept (and restored) for hours, not days (keptWindowMs). */
export const STREAM_KINDS: readonly MeasurementKind[] = ['cgm_glucose'];

/** Readings older than the longest window plus this margin are dropped from memory. */
const HISTORY_MARGIN_MS = DAY_MS;
/** Kept per kind whatever their age: a consecutive rule on weekly readings still needs them. */
const MIN_READINGS_KEPT = 10;
/** At most this much earlier than a full window still counts as the window's start. */
const DELTA_SLACK_MS = 6 * HOUR_MS;

export interface PatientConfiguration {
  rules: readonly RuleDefinition[];
  /** Kinds of the devices assigned to the patient: missing-data rules watch these (a check-in is never enrolled so). */
  enrolledKinds: readonly RuleKind[];
  /** Since when the patient is monitored: the start of a missing-data window with no reading yet. */
  monitoredSinceMs: number;
}

export type RulesEvent =
  | { type: 'reading'; patientId: string; reading: RuleReading; nowMs: number }
  | { type: 'tick'; nowMs: number }
  | { type: 'configure'; patientId: string; configuration: PatientConfiguration }
  | {
      type: 'restore';
      patientId: string;
      configuration: PatientConfiguration;
      readings: RuleReading[];
      /** Rules with an unresolved alert in the store: their episode is under way. */
      openRuleIds: string[];
      /** Crisis readings still awaiting their retake, from alerts in `awaiting_confirmation`. */
      awaitingConfirmation: { ruleId: string; reading: RuleReading }[];
    };

export interface AbnormalEvidence {
  reading: RuleReading;
  /** How far beyond its bound the reading is (0 = at the bound): the "worst" reading has the largest. */
  score: number;
  summary: string;
}

export type AlertSignal =
  | ({
      type: 'abnormal';
      patientId: string;
      ruleId: string;
      severity: AlertSeverity;
      episode: 'each' | 'start' | 'continues';
      late: boolean;
      /** In an episode under way: this reading is further beyond the bound than any before it in the episode. */
      worse?: boolean;
      /** A `together` rule raised its severity: what came with it ("check-in: breathlessness worse"). */
      raisedWith?: string;
    } & AbnormalEvidence)
  | ({ type: 'confirmation_requested'; patientId: string; ruleId: string; severity: AlertSeverity; deadlineMs: number; retakeMessage: string; raisedWith?: string } & AbnormalEvidence)
  | { type: 'confirmed'; patientId: string; ruleId: string; severity: AlertSeverity; reason: 'retake_abnormal' | 'no_retake'; reading?: RuleReading; summary: string }
  | { type: 'downgraded'; patientId: string; ruleId: string; reading: RuleReading; summary: string }
  | { type: 'missing_data'; patientId: string; ruleId: string; severity: AlertSeverity; kind: RuleKind; afterHours: number; lastReadingAtMs: number | null; summary: string }
  | { type: 'data_resumed'; patientId: string; ruleId: string; reading: RuleReading };

export interface PatientState {
  patientId: string;
  configuration: PatientConfiguration | undefined;
  /** Per kind, sorted by measuredAt. */
  history: Map<RuleKind, RuleReading[]>;
  latestMs: Map<RuleKind, number>;
  pending: Map<string, { deadlineMs: number; reading: RuleReading }>;
  /** Trend, missing-data and clear-level threshold rules whose episode is under way. */
  episodes: Set<string>;
  /** The largest exceedance so far of each threshold episode under way: a worse reading alerts again. */
  episodeWorst: Map<string, number>;
  /** Running sums over each kind's `history`, kept in step with it by `remember`. */
  windowSums: Map<RuleKind, WindowSums>;
  /** Per `together` rule, the reading whose alert it last raised: raised once, not at every check-in. */
  raised: Map<string, string>;
}

export function emptyPatientState(patientId: string): PatientState {
  return { patientId, configuration: undefined, history: new Map(), latestMs: new Map(), pending: new Map(), episodes: new Set(), episodeWorst: new Map(), windowSums: new Map(), raised: new Map() };
}

// ---- conditions -------------------------------------------------------------------------------


function holds(condition: Condition, values: Record<string, number>, flags: Record<string, string | boolean>): boolean {
  if ('flag' in condition) return flags[condition.flag] === condition.equals;
  const value = values[condition.field];
  if (value === undefined) return false;
  switch (condition.op) {
    case '>':
      return value > condition.value;
    case '>=':
      return value >= condition.value;
    case '<':
      return value < condition.value;
    case '<=':
      return value <= condition.value;
  }
}

function matches(rule: { any: Condition[]; all?: Condition[] }, values: Record<string, number>, flags: Record<string, string | boolean>): boolean {
  return rule.any.some((c) => holds(c, values, flags)) && (rule.all ?? []).every((c) => holds(c, values, flags));
}

/** The reading reaches every clear level of the rule: its episode is over and the rule re-armed. */
function clears(rule: ThresholdRule, values: Record<string, number>): boolean {
  return rule.clear !== undefined && rule.clear.every((c) => holds(c, values, {}));
}

/** Relative distance beyond the bound of the conditions that hold (0.1 = 10 % past it). */
function exceedance(rule: { any: Condition[] }, values: Record<string, number>, flags: Record<string, string | boolean>): number {
  let score = 0;
  for (const condition of rule.any) {
    if (!holds(condition, values, flags)) continue;
    if ('flag' in condition) {
      score = Math.max(score, 1);
      continue;
    }
    const value = values[condition.field]!;
    const distance = condition.op.startsWith('>') ? value - condition.value : condition.value - value;
    score = Math.max(score, distance / Math.max(Math.abs(condition.value), 1));
  }
  return Math.round(score * 10_000) / 10_000;
}

function describe(reading: RuleReading): string {
  const described = describeCanonical(reading);
  // Worded only here, when an alert is described, not for every reading judged.
  const sentAs = reading.sent && reading.kind !== 'check_in' ? sentAsText(reading.kind, reading.sent) : undefined;
  return sentAs === undefined ? described : `${described} (sent as ${sentAs})`;
}

function describeCanonical(reading: RuleReading): string {
  const unit = displayUnit(reading.kind);
  const v = reading.values;
  const round = (n: number) => Math.round(n * 10) / 10;
  switch (reading.kind) {
    case 'blood_pressure':
      return `BP ${round(v.systolic!)}/${round(v.diastolic!)} mmHg${v.pulse !== undefined ? `, pulse ${round(v.pulse)}/min` : ''}`;
    case 'glucose': {
      const flag = reading.flags.outOfRange;
      return `glucose ${flag === 'high' ? 'HI (>' : flag === 'low' ? 'LO (<' : ''}${round(v.value!)} mg/dL${flag ? ')' : ''}`;
    }
    case 'check_in': {
      const worse = Object.entries(v).filter(([, score]) => score > 0).map(([linkId]) => `${linkId.replace(/_/g, ' ')} ${String(reading.flags[linkId]).replace(/_/g, ' ')}`);
      return `check-in: ${worse.length > 0 ? worse.join(', ') : 'all as usual'}`;
    }
    case 'cgm_glucose':
      return `CGM glucose ${round(v.value!)} mg/dL${typeof reading.flags.trend === 'string' ? ` (${reading.flags.trend})` : ''}`;
    default:
      return `${reading.kind.replace('_', ' ')} ${round(v.value!)} ${unit}`;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ---- history ----------------------------------------------------------------------------------

const MAX_WINDOW_MS = new WeakMap<readonly RuleDefinition[], number>();

/** The longest window of a rule set (computed once per set: rule sets are immutable once loaded). */
function maxWindowMs(rules: readonly RuleDefinition[]): number {
  const known = MAX_WINDOW_MS.get(rules);
  if (known !== undefined) return known;
  let longest = DAY_MS;
  for (const rule of rules) {
    if (rule.type === 'delta') longest = Math.max(longest, rule.windowHours * HOUR_MS);
    if (rule.type === 'average') longest = Math.max(longest, rule.windowDays * DAY_MS);
    if (rule.type === 'confirm') longest = Math.max(longest, rule.retakeWindowMinutes * 60_000);
    if (rule.type === 'together') longest = Math.max(longest, rule.withinHours * HOUR_MS);
  }
  MAX_WINDOW_MS.set(rules, longest);
  return longest;
}

const NO_RULES: readonly RuleDefinition[] = [];

const KEPT_WINDOW_MS = new WeakMap<readonly RuleDefinition[], Map<RuleKind, number>>();

/**
 * How far back a kind's readings are kept. A kind judged only as a stream (sustained and rate
 * rules: a CGM's 288 to 1,440 readings a day) keeps twice its longest stream window, room for late
 * uploads, instead of days of them: 10,000 CGM patients would otherwise hold millions of readings.
 */
export function keptWindowMs(rules: readonly RuleDefinition[], kind: RuleKind): number {
  let perKind = KEPT_WINDOW_MS.get(rules);
  if (!perKind) KEPT_WINDOW_MS.set(rules, (perKind = new Map()));
  const known = perKind.get(kind);
  if (known !== undefined) return known;
  let stream = 0;
  let other = false;
  for (const rule of rules) {
    if (rule.kind !== kind || rule.type === 'missing_data') continue;
    if (rule.type === 'sustained') stream = Math.max(stream, (rule.forMinutes + rule.endAfterMinutes) * MINUTE_MS);
    else if (rule.type === 'rate') stream = Math.max(stream, 2 * rule.overMinutes * MINUTE_MS);
    else other = true;
  }
  const kept = stream > 0 && !other ? 2 * stream : maxWindowMs(rules) + HISTORY_MARGIN_MS;
  perKind.set(kind, kept);
  return kept;
}

/**
 * Adds a reading in time order; false when it is already there (a re-emission after restart). A
 * reading again has its own instant, so only the readings of that instant are compared: no set of
 * keys to build a string for, hash and keep per reading (a visible share of the rules engine's
 * time in the bench/ingest.ts profile).
 */
function remember(state: PatientState, reading: RuleReading): boolean {
  const list = state.history.get(reading.kind) ?? [];
  let index = list.length;
  while (index > 0 && list[index - 1]!.measuredAtMs > reading.measuredAtMs) index -= 1;
  for (let same = index - 1; same >= 0 && list[same]!.measuredAtMs === reading.measuredAtMs; same -= 1) {
    if (list[same]!.readingId === reading.readingId && list[same]!.deviceId === reading.deviceId) return false;
  }
  if (index === list.length) list.push(reading);
  else list.splice(index, 0, reading);
  const sums = state.windowSums.get(reading.kind);
  if (!sums) state.windowSums.set(reading.kind, new WindowSums(list));
  else if (index === list.length - 1) sums.appended(reading);
  else sums.rebuild(list);
  const keepFromMs = list[list.length - 1]!.measuredAtMs - keptWindowMs(state.configuration?.rules ?? NO_RULES, reading.kind);
  while (list.length > MIN_READINGS_KEPT && list[0]!.measuredAtMs < keepFromMs) {
    list.shift();
    state.windowSums.get(reading.kind)!.droppedFirst(list);
  }
  state.history.set(reading.kind, list);
  return true;
}

/** Readings of the kind up to and including `atMs` (the whole list, uncopied, for the newest). */
function upTo(state: PatientState, kind: RuleKind, atMs: number): readonly RuleReading[] {
  const list = state.history.get(kind) ?? [];
  if (list.length === 0 || list[list.length - 1]!.measuredAtMs <= atMs) return list;
  let end = list.length;
  while (end > 0 && list[end - 1]!.measuredAtMs > atMs) end -= 1;
  return list.slice(0, end);
}

// ---- rule types -------------------------------------------------------------------------------

/** The index of the first reading measured after `fromMs` (binary search: the list is in time order). */
function firstAfter(series: readonly RuleReading[], fromMs: number): number {
  let low = 0;
  let high = series.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (series[middle]!.measuredAtMs > fromMs) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * Windows up to this many readings are summed in place (a patient measuring a few times a day has
 * ~20 in a week); longer ones come from the running sums, whose differences may differ from the
 * sum in place in the last bits, far below the 0.1 to which means are rounded.
 */
const SUMMED_IN_PLACE = 64;

const AVERAGED_FIELDS = new WeakMap<AverageRule, string[]>();

/** The fields an average rule's conditions compare, each once (rules are immutable once loaded). */
function averagedFields(rule: AverageRule): string[] {
  let fields = AVERAGED_FIELDS.get(rule);
  if (!fields) {
    fields = [...new Set([...rule.any, ...(rule.all ?? [])].flatMap((c) => ('field' in c ? [c.field] : [])))];
    AVERAGED_FIELDS.set(rule, fields);
  }
  return fields;
}

/** The condition of a trend rule at `reading` (its window ends at the reading's measuredAt). */
function trendHolds(rule: AverageRule | ConsecutiveRule | DeltaRule, state: PatientState, reading: RuleReading): AbnormalEvidence | undefined {
  const series = upTo(state, reading.kind, reading.measuredAtMs);
  switch (rule.type) {
    case 'average': {
      const fromMs = reading.measuredAtMs - rule.windowDays * DAY_MS;
      const first = firstAfter(series, fromMs);
      const count = series.length - first;
      if (count < rule.minReadings) return undefined;
      // Only the fields the rule compares. A long window of the whole history (a dense series) is
      // two lookups in its running sums; a short one is summed in place, as it always was.
      const fields = averagedFields(rule);
      const sums = new Array<number>(fields.length).fill(0);
      const counts = new Array<number>(fields.length).fill(0);
      const running = series === state.history.get(reading.kind) && count > SUMMED_IN_PLACE ? state.windowSums.get(reading.kind) : undefined;
      if (running) {
        fields.forEach((field, f) => {
          const total = running.total(field, first, series.length);
          sums[f] = total.sum;
          counts[f] = total.count;
        });
      } else {
        for (let i = first; i < series.length; i += 1) {
          const values = series[i]!.values;
          for (let f = 0; f < fields.length; f += 1) {
            const value = values[fields[f]!];
            if (value !== undefined) {
              sums[f]! += value;
              counts[f]! += 1;
            }
          }
        }
      }
      const means: Record<string, number> = {};
      fields.forEach((field, f) => {
        if (counts[f]! > 0) means[field] = Math.round((sums[f]! / counts[f]!) * 10) / 10;
      });
      if (!matches(rule, means, {})) return undefined;
      const shown = Object.entries(means)
        .map(([field, mean]) => `${field} ${mean}`)
        .join(', ');
      return { reading, score: exceedance(rule, means, {}), summary: `${rule.windowDays}-day mean ${shown} ${displayUnit(reading.kind)} over ${count} readings` };
    }
    case 'consecutive': {
      const last = series.slice(-rule.count);
      if (last.length < rule.count || !last.every((r) => matches(rule, r.values, r.flags))) return undefined;
      return { reading, score: exceedance(rule, reading.values, reading.flags), summary: `${rule.count} consecutive readings beyond the bound, last ${describe(reading)}` };
    }
    case 'delta': {
      // A gain counts when two consecutive readings both stand above the baseline that preceded
      // the first of them: one reading alone (another person on the scale, a misread) cannot raise
      // it; with a re-weigh prompt it asks for the second reading at once (onDeltaRule).
      const n = series.length - 1;
      const m = n - 1;
      const last = series[n]?.values[rule.field];
      if (m < 1 || last === undefined) return undefined;
      if (series[n]!.measuredAtMs - series[m]!.measuredAtMs > rule.windowHours * HOUR_MS) return undefined;
      const jump = gainAt(rule, series, m);
      if (!jump) return undefined;
      const confirmed = last - jump.baseline;
      if (!(jump.gain > rule.increaseAbove && confirmed > rule.increaseAbove)) return undefined;
      const gain = Math.min(jump.gain, confirmed);
      const hours = Math.round((series[n]!.measuredAtMs - series[jump.baselineIndex]!.measuredAtMs) / HOUR_MS);
      return {
        reading,
        score: Math.round(((gain - rule.increaseAbove) / rule.increaseAbove) * 10_000) / 10_000,
        summary: `${deltaSubject(rule, reading)} up ${gainText(reading, gain)} over ${hours} h (baseline ${round1(jump.baseline)}, last two readings ${round1(series[m]!.values[rule.field]!)} and ${round1(last)})`,
      };
    }
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
const deltaSubject = (rule: DeltaRule, reading: RuleReading) => (rule.field === 'value' ? reading.kind : rule.field);

/** A gain in the canonical unit, and in pounds too from a scale that weighs in pounds (heart-failure advice speaks of "3 lb in a day"). */
const gainText = (reading: RuleReading, gain: number) => `${round2(gain)} ${displayUnit(reading.kind)}${reading.kind === 'weight' && reading.sent?.unit === 'lb' ? ` (${round1(gain / KG_PER_LB)} lb)` : ''}`;

/**
 * The gain of the reading at `index` over its baseline: the median of the three readings around the
 * last one at least a window (less a little slack: 8:10 today vs 7:50 yesterday is still "24
 * hours") before it, so one outlier there cannot raise or hide a gain either.
 */
function gainAt(rule: DeltaRule, series: readonly RuleReading[], index: number): { baseline: number; gain: number; baselineIndex: number } | undefined {
  const valueAt = (i: number) => series[i]!.values[rule.field];
  const value = index >= 1 ? valueAt(index) : undefined;
  if (value === undefined) return undefined;
  const windowMs = rule.windowHours * HOUR_MS;
  const earliestMs = series[index]!.measuredAtMs - windowMs + Math.min(0.25 * windowMs, DELTA_SLACK_MS);
  let b = -1;
  for (let i = index - 1; i >= 0; i -= 1) {
    if (series[i]!.measuredAtMs <= earliestMs) {
      b = i;
      break;
    }
  }
  if (b < 0 || series[index]!.measuredAtMs - series[b]!.measuredAtMs > 2 * windowMs) return undefined;
  const around = [b - 1, b, b + 1, b - 2].filter((i) => i >= 0 && i < index).slice(0, 3);
  const baselineValues = around.map(valueAt).filter((v): v is number => v !== undefined);
  // With only two readings to go on, which is the outlier is unknown: the higher one is the
  // baseline, so a low misread cannot fake a gain.
  const baseline = baselineValues.length >= 3 ? median(baselineValues) : Math.max(...baselineValues);
  return { baseline, gain: value - baseline, baselineIndex: b };
}

/**
 * A delta rule with a re-weigh prompt, at the newest reading: the reading that answers a prompt
 * confirms or downgrades it; a single jump past the bound (not yet a trend) asks for the retake.
 * Undefined when the trend logic alone decides.
 */
function onDeltaRetake(rule: DeltaRule, state: PatientState, reading: RuleReading, evidence: AbnormalEvidence | undefined, nowMs: number): AlertSignal[] | undefined {
  const patientId = state.patientId;
  const pending = state.pending.get(rule.id);
  if (pending && reading.measuredAtMs > pending.reading.measuredAtMs && reading.measuredAtMs <= pending.deadlineMs) {
    state.pending.delete(rule.id);
    if (evidence) {
      state.episodes.add(rule.id);
      return [{ type: 'confirmed', patientId, ruleId: rule.id, severity: rule.severity, reason: 'retake_abnormal', reading, summary: `retake confirms: ${describe(reading)}` }];
    }
    return [{ type: 'downgraded', patientId, ruleId: rule.id, reading, summary: `retake normal: ${describe(reading)}` }];
  }
  if (pending || evidence || state.episodes.has(rule.id) || rule.retakeWindowMinutes === undefined || rule.retakeMessage === undefined) return undefined;
  const series = upTo(state, reading.kind, reading.measuredAtMs);
  const jump = gainAt(rule, series, series.length - 1);
  const deadlineMs = reading.measuredAtMs + rule.retakeWindowMinutes * 60_000;
  // A late upload whose window has passed waits for the trend (the next reading), as without a prompt.
  if (!jump || !(jump.gain > rule.increaseAbove) || deadlineMs <= nowMs) return undefined;
  state.pending.set(rule.id, { deadlineMs, reading });
  const hours = Math.round((reading.measuredAtMs - series[jump.baselineIndex]!.measuredAtMs) / HOUR_MS);
  return [
    {
      type: 'confirmation_requested',
      patientId,
      ruleId: rule.id,
      severity: rule.severity,
      deadlineMs,
      retakeMessage: rule.retakeMessage,
      reading,
      score: Math.round(((jump.gain - rule.increaseAbove) / rule.increaseAbove) * 10_000) / 10_000,
      summary: `${deltaSubject(rule, reading)} up ${gainText(reading, jump.gain)} over ${hours} h (baseline ${round1(jump.baseline)}, one reading ${round1(reading.values[rule.field]!)})`,
    },
  ];
}

/**
 * A threshold rule with a clear level: an episode starts at the first abnormal reading and ends
 * only at a reading that reaches the clear level, so a value hovering at the bound is one episode.
 */
function onClearedThreshold(rule: ThresholdRule, state: PatientState, reading: RuleReading): AlertSignal[] {
  const inEpisode = state.episodes.has(rule.id);
  if (!matches(rule, reading.values, reading.flags)) {
    if (inEpisode && clears(rule, reading.values)) {
      state.episodes.delete(rule.id);
      state.episodeWorst.delete(rule.id);
    }
    return [];
  }
  const score = exceedance(rule, reading.values, reading.flags);
  const worstSoFar = state.episodeWorst.get(rule.id) ?? 0;
  state.episodes.add(rule.id);
  state.episodeWorst.set(rule.id, Math.max(worstSoFar, score));
  return [{ type: 'abnormal', patientId: state.patientId, ruleId: rule.id, severity: rule.severity, episode: inEpisode ? 'continues' : 'start', late: false, worse: inEpisode && score > worstSoFar, reading, score, summary: describe(reading) }];
}

/** Whether a threshold rule's episode is under way after `readings` (in time order), and its worst exceedance. */
function thresholdEpisodeAfter(rule: ThresholdRule, readings: readonly RuleReading[]): number | undefined {
  let worst: number | undefined;
  for (const reading of readings) {
    if (matches(rule, reading.values, reading.flags)) worst = Math.max(worst ?? 0, exceedance(rule, reading.values, reading.flags));
    else if (clears(rule, reading.values)) worst = undefined;
  }
  return worst;
}

// ---- streams: sustained and rate rules ----------------------------------------------------------

/** Where the run beyond the bound that ends at `end` began; -1 when `end` is not beyond it. */
function runStart(rule: SustainedRule, series: readonly RuleReading[], end: number): number {
  const at = series[end]!;
  if (!matches(rule, at.values, at.flags)) return -1;
  const maxGapMs = rule.maxGapMinutes * MINUTE_MS;
  let start = end;
  while (start > 0) {
    const before = series[start - 1]!;
    if (series[start]!.measuredAtMs - before.measuredAtMs > maxGapMs || !matches(rule, before.values, before.flags)) break;
    start -= 1;
  }
  return start;
}

/** The episode is over: the readings since the last one beyond the bound span `endAfterMinutes`. */
function sustainedEnded(rule: SustainedRule, series: readonly RuleReading[], end: number): boolean {
  let lastBeyond = end;
  while (lastBeyond >= 0 && !matches(rule, series[lastBeyond]!.values, series[lastBeyond]!.flags)) lastBeyond -= 1;
  return series[end]!.measuredAtMs - series[lastBeyond + 1]!.measuredAtMs >= rule.endAfterMinutes * MINUTE_MS;
}

/** A run long enough to start the episode at `end`: its evidence, with the worst exceedance of the run. */
function sustainedStart(rule: SustainedRule, series: readonly RuleReading[], end: number): AbnormalEvidence | undefined {
  const start = runStart(rule, series, end);
  if (start < 0) return undefined;
  const minutes = (series[end]!.measuredAtMs - series[start]!.measuredAtMs) / MINUTE_MS;
  if (minutes < rule.forMinutes) return undefined;
  let worst = start;
  // The latest of equally bad readings: the summary names a worse one only when there was one.
  for (let i = start; i <= end; i += 1) if (exceedance(rule, series[i]!.values, series[i]!.flags) >= exceedance(rule, series[worst]!.values, series[worst]!.flags)) worst = i;
  const reading = series[end]!;
  const worstText = worst === end ? '' : `, worst ${describe(series[worst]!)}`;
  return { reading, score: exceedance(rule, series[worst]!.values, series[worst]!.flags), summary: `${describe(reading)}, beyond the bound for ${Math.round(minutes)} min${worstText}` };
}

/**
 * A sustained rule at a reading: one alert per episode however many readings it spans; a dip back
 * within the bound shorter than `endAfterMinutes` is still the same episode.
 */
function onSustained(rule: SustainedRule, state: PatientState, reading: RuleReading, isLatest: boolean): AlertSignal[] {
  const patientId = state.patientId;
  const list = state.history.get(reading.kind)!;
  const inEpisode = state.episodes.has(rule.id);
  if (!isLatest) {
    // A late (backfilled) reading can complete the run that ends at the newest one; it never
    // continues or ends an episode of the present.
    const present = inEpisode ? undefined : sustainedStart(rule, list, list.length - 1);
    if (!present) return [];
    state.episodes.add(rule.id);
    state.episodeWorst.set(rule.id, present.score);
    return [{ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'start', late: false, ...present }];
  }
  const end = list.length - 1;
  if (!matches(rule, reading.values, reading.flags)) {
    if (inEpisode && sustainedEnded(rule, list, end)) {
      state.episodes.delete(rule.id);
      state.episodeWorst.delete(rule.id);
    }
    return [];
  }
  if (inEpisode) {
    const score = exceedance(rule, reading.values, reading.flags);
    const worstSoFar = state.episodeWorst.get(rule.id) ?? 0;
    state.episodeWorst.set(rule.id, Math.max(worstSoFar, score));
    return [{ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'continues', late: false, worse: score > worstSoFar, reading, score, summary: describe(reading) }];
  }
  const evidence = sustainedStart(rule, list, end);
  if (!evidence) return [];
  state.episodes.add(rule.id);
  state.episodeWorst.set(rule.id, evidence.score);
  return [{ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'start', late: false, ...evidence }];
}

/** Whether a sustained rule's episode is under way after `series`, and its worst exceedance: replayed at a restore. */
function sustainedEpisodeAfter(rule: SustainedRule, series: readonly RuleReading[]): number | undefined {
  let worst: number | undefined;
  for (let end = 0; end < series.length; end += 1) {
    const at = series[end]!;
    if (worst === undefined) worst = sustainedStart(rule, series, end)?.score;
    else if (matches(rule, at.values, at.flags)) worst = Math.max(worst, exceedance(rule, at.values, at.flags));
    else if (sustainedEnded(rule, series, end)) worst = undefined;
  }
  return worst;
}

/** The change per minute over the rule's window ending at `end`, when faster than its bound. */
function rateHolds(rule: RateRule, series: readonly RuleReading[], end: number): AbnormalEvidence | undefined {
  const reading = series[end]!;
  const value = reading.values[rule.field];
  const fromMs = reading.measuredAtMs - rule.overMinutes * MINUTE_MS;
  // The last reading at or before the window's start, and not much earlier: no rate across a gap.
  const before = series[firstAfter(series, fromMs) - 1];
  const then = before?.values[rule.field];
  if (value === undefined || then === undefined || fromMs - before!.measuredAtMs > (rule.overMinutes * MINUTE_MS) / 2) return undefined;
  const minutes = (reading.measuredAtMs - before!.measuredAtMs) / MINUTE_MS;
  const perMinute = (rule.direction === 'fall' ? then - value : value - then) / minutes;
  if (!(perMinute > rule.perMinuteAbove)) return undefined;
  const unit = displayUnit(reading.kind);
  return {
    reading,
    score: Math.round(((perMinute - rule.perMinuteAbove) / rule.perMinuteAbove) * 10_000) / 10_000,
    summary: `${describe(reading)}, ${rule.direction === 'fall' ? 'down' : 'up'} ${round1(Math.abs(then - value))} ${unit} in ${Math.round(minutes)} min (${round1(perMinute)} ${unit}/min)`,
  };
}

/** A rate rule at the newest reading; a late one says nothing about how fast the value moves now. */
function onRate(rule: RateRule, state: PatientState, reading: RuleReading, isLatest: boolean): AlertSignal[] {
  if (!isLatest) return [];
  const list = state.history.get(reading.kind)!;
  const evidence = rateHolds(rule, list, list.length - 1);
  const inEpisode = state.episodes.has(rule.id);
  if (!evidence) {
    state.episodes.delete(rule.id);
    state.episodeWorst.delete(rule.id);
    return [];
  }
  const worstSoFar = state.episodeWorst.get(rule.id) ?? 0;
  state.episodes.add(rule.id);
  state.episodeWorst.set(rule.id, Math.max(worstSoFar, evidence.score));
  return [{ type: 'abnormal', patientId: state.patientId, ruleId: rule.id, severity: rule.severity, episode: inEpisode ? 'continues' : 'start', late: false, ...(inEpisode ? { worse: evidence.score > worstSoFar } : {}), ...evidence }];
}

// ---- together -----------------------------------------------------------------------------------

/** The newest reading of the together rule's kind meeting its conditions within its window of `atMs`. */
function companionOf(rule: TogetherRule, state: PatientState, atMs: number): RuleReading | undefined {
  const windowMs = rule.withinHours * HOUR_MS;
  const list = state.history.get(rule.kind) ?? [];
  for (let index = list.length - 1; index >= 0; index -= 1) {
    const candidate = list[index]!;
    if (candidate.measuredAtMs > atMs + windowMs) continue;
    if (candidate.measuredAtMs < atMs - windowMs) break;
    if (matches(rule, candidate.values, candidate.flags)) return candidate;
  }
  return undefined;
}

/** A signal of the raised rule in this step: made more severe when a companion lies within the window. */
function raiseWithCompanion(rule: TogetherRule, state: PatientState, signals: AlertSignal[]): void {
  for (const signal of signals) {
    if (signal.ruleId !== rule.raises || (signal.type !== 'abnormal' && signal.type !== 'confirmation_requested') || signal.raisedWith) continue;
    const companion = companionOf(rule, state, signal.reading.measuredAtMs);
    if (!companion) continue;
    signal.severity = moreSevere(signal.severity, rule.severity);
    signal.raisedWith = describe(companion);
    state.raised.set(rule.id, signal.reading.readingId);
  }
}

/**
 * The raised rule's evidence at a reading within the window of `atMs`: the reading awaiting its
 * retake, or the newest reading of the rule's kind at which the rule holds.
 */
function raisedEvidence(raised: RuleDefinition, state: PatientState, atMs: number, windowMs: number): RuleReading | undefined {
  const pending = state.pending.get(raised.id);
  if (pending && Math.abs(pending.reading.measuredAtMs - atMs) <= windowMs) return pending.reading;
  const list = state.history.get(raised.kind) ?? [];
  for (let index = list.length - 1; index >= 0; index -= 1) {
    const candidate = list[index]!;
    if (candidate.measuredAtMs > atMs + windowMs) continue;
    if (candidate.measuredAtMs < atMs - windowMs) break;
    const holds =
      raised.type === 'threshold' || raised.type === 'confirm'
        ? matches(raised, candidate.values, candidate.flags)
        : raised.type === 'delta' || raised.type === 'average' || raised.type === 'consecutive'
          ? trendHolds(raised, state, candidate) !== undefined
          : false;
    if (holds) return candidate;
  }
  return undefined;
}

/** A companion (a worrying check-in) after the raised rule's finding: that alert is raised now. */
function onCompanion(rule: TogetherRule, state: PatientState, reading: RuleReading): AlertSignal[] {
  if (!matches(rule, reading.values, reading.flags)) return [];
  const raised = state.configuration?.rules.find((candidate) => candidate.id === rule.raises && candidate.enabled);
  if (!raised) return [];
  const evidence = raisedEvidence(raised, state, reading.measuredAtMs, rule.withinHours * HOUR_MS);
  if (!evidence || state.raised.get(rule.id) === evidence.readingId) return [];
  state.raised.set(rule.id, evidence.readingId);
  return [{ type: 'abnormal', patientId: state.patientId, ruleId: raised.id, severity: rule.severity, episode: 'continues', worse: true, late: false, reading: evidence, score: 0, summary: describe(evidence), raisedWith: describe(reading) }];
}

function onConfirmRule(rule: ConfirmRule, state: PatientState, reading: RuleReading, nowMs: number, patientId: string): AlertSignal[] {
  const pending = state.pending.get(rule.id);
  if (pending && reading.measuredAtMs > pending.reading.measuredAtMs && reading.measuredAtMs <= pending.deadlineMs) {
    state.pending.delete(rule.id);
    if (matches(rule, reading.values, reading.flags)) {
      return [{ type: 'confirmed', patientId, ruleId: rule.id, severity: rule.severity, reason: 'retake_abnormal', reading, summary: `retake confirms: ${describe(reading)}` }];
    }
    return [{ type: 'downgraded', patientId, ruleId: rule.id, reading, summary: `retake normal: ${describe(reading)}` }];
  }
  if (pending || !matches(rule, reading.values, reading.flags)) return [];
  const evidence = { reading, score: exceedance(rule, reading.values, reading.flags), summary: describe(reading) };
  const deadlineMs = reading.measuredAtMs + rule.retakeWindowMinutes * 60_000;
  if (deadlineMs <= nowMs) {
    // Arrived after its retake window (a late upload): judge it by what followed, if anything did.
    const retake = (state.history.get(reading.kind) ?? []).find((r) => r.measuredAtMs > reading.measuredAtMs && r.measuredAtMs <= deadlineMs);
    if (retake && !matches(rule, retake.values, retake.flags)) return [];
    return [{ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'each', late: true, ...evidence }];
  }
  state.pending.set(rule.id, { deadlineMs, reading });
  return [{ type: 'confirmation_requested', patientId, ruleId: rule.id, severity: rule.severity, deadlineMs, retakeMessage: rule.retakeMessage, ...evidence }];
}

function onReading(state: PatientState, reading: RuleReading, nowMs: number): AlertSignal[] {
  const rules = state.configuration?.rules ?? [];
  const patientId = state.patientId;
  const previousLatest = state.latestMs.get(reading.kind);
  if (!remember(state, reading)) return [];
  const isLatest = previousLatest === undefined || reading.measuredAtMs >= previousLatest;
  if (isLatest) state.latestMs.set(reading.kind, reading.measuredAtMs);
  const signals: AlertSignal[] = [];
  for (const rule of rules) {
    if (!rule.enabled || rule.kind !== reading.kind) continue;
    switch (rule.type) {
      case 'threshold':
        // A late reading is judged alone: it neither starts nor ends the episode of the present.
        if (rule.clear && isLatest) signals.push(...onClearedThreshold(rule, state, reading));
        else if (matches(rule, reading.values, reading.flags)) {
          signals.push({ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'each', late: !isLatest, reading, score: exceedance(rule, reading.values, reading.flags), summary: describe(reading) });
        }
        break;
      case 'confirm':
        signals.push(...onConfirmRule(rule, state, reading, nowMs, patientId));
        break;
      case 'average':
      case 'consecutive':
      case 'delta': {
        const evidence = trendHolds(rule, state, reading);
        if (!isLatest) {
          // A late reading can complete the window that ends at the newest reading (history sent
          // newest first): the trend of the present then starts, as if the readings came in order.
          // It never continues or ends an episode, so what a nurse resolved stays resolved.
          const newest = state.history.get(reading.kind)!.at(-1)!;
          const present = state.episodes.has(rule.id) ? undefined : trendHolds(rule, state, newest);
          if (present) {
            state.episodes.add(rule.id);
            signals.push({ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'start', late: false, ...present });
          } else if (evidence) {
            // Otherwise it can still show the trend in its own past.
            signals.push({ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: 'each', late: true, ...evidence });
          }
          break;
        }
        if (rule.type === 'delta') {
          const retake = onDeltaRetake(rule, state, reading, evidence, nowMs);
          if (retake) {
            signals.push(...retake);
            break;
          }
        }
        const inEpisode = state.episodes.has(rule.id);
        if (evidence) {
          state.episodes.add(rule.id);
          signals.push({ type: 'abnormal', patientId, ruleId: rule.id, severity: rule.severity, episode: inEpisode ? 'continues' : 'start', late: false, ...evidence });
        } else if (inEpisode) {
          state.episodes.delete(rule.id);
        }
        break;
      }
      case 'missing_data':
        if (isLatest && state.episodes.delete(rule.id)) signals.push({ type: 'data_resumed', patientId, ruleId: rule.id, reading });
        break;
      case 'sustained':
        signals.push(...onSustained(rule, state, reading, isLatest));
        break;
      case 'rate':
        signals.push(...onRate(rule, state, reading, isLatest));
        break;
      case 'together':
        signals.push(...onCompanion(rule, state, reading));
        break;
    }
  }
  for (const rule of rules) if (rule.enabled && rule.type === 'together') raiseWithCompanion(rule, state, signals);
  return signals;
}

function onTick(state: PatientState, nowMs: number): AlertSignal[] {
  const signals: AlertSignal[] = [];
  const rules = state.configuration?.rules ?? [];
  for (const [ruleId, pending] of state.pending) {
    if (pending.deadlineMs > nowMs) continue;
    state.pending.delete(ruleId);
    const rule = rules.find((r) => r.id === ruleId);
    signals.push({
      type: 'confirmed',
      patientId: state.patientId,
      ruleId,
      severity: rule?.severity ?? 'critical',
      reason: 'no_retake',
      summary: `no retake within ${rule && 'retakeWindowMinutes' in rule ? rule.retakeWindowMinutes : '?'} minutes of ${describe(pending.reading)}`,
    });
  }
  const configuration = state.configuration;
  if (!configuration) return signals;
  for (const rule of configuration.rules) {
    if (rule.type !== 'missing_data' || !rule.enabled || !configuration.enrolledKinds.includes(rule.kind) || state.episodes.has(rule.id)) continue;
    const lastMs = state.latestMs.get(rule.kind);
    const sinceMs = Math.max(lastMs ?? configuration.monitoredSinceMs, configuration.monitoredSinceMs);
    if (nowMs - sinceMs < rule.afterHours * HOUR_MS) continue;
    state.episodes.add(rule.id);
    signals.push({
      type: 'missing_data',
      patientId: state.patientId,
      ruleId: rule.id,
      severity: rule.severity,
      kind: rule.kind,
      afterHours: rule.afterHours,
      lastReadingAtMs: lastMs ?? null,
      summary: lastMs === undefined ? `no ${rule.kind.replace('_', ' ')} reading since monitoring started` : `no ${rule.kind.replace('_', ' ')} reading since ${new Date(lastMs).toISOString()}`,
    });
  }
  return signals;
}

function onRestore(state: PatientState, event: Extract<RulesEvent, { type: 'restore' }>): void {
  // A patient restored again (its partition came back to this process) starts from the stores only.
  Object.assign(state, emptyPatientState(state.patientId));
  state.configuration = event.configuration;
  for (const reading of [...event.readings].sort((a, b) => a.measuredAtMs - b.measuredAtMs)) {
    remember(state, reading);
    state.latestMs.set(reading.kind, Math.max(state.latestMs.get(reading.kind) ?? 0, reading.measuredAtMs));
  }
  // Trend episodes are recomputed at the newest reading of each kind, silently: a restart must not
  // raise again what was raised before it.
  for (const rule of event.configuration.rules) {
    if (rule.type !== 'average' && rule.type !== 'consecutive' && rule.type !== 'delta') continue;
    const list = state.history.get(rule.kind);
    const newest = list?.[list.length - 1];
    if (newest && trendHolds(rule, state, newest)) state.episodes.add(rule.id);
  }
  // A threshold episode with a clear level is replayed from the readings: it may outlive its alert.
  for (const rule of event.configuration.rules) {
    if (rule.type !== 'threshold' || !rule.clear) continue;
    const worst = thresholdEpisodeAfter(rule, state.history.get(rule.kind) ?? []);
    if (worst === undefined) continue;
    state.episodes.add(rule.id);
    state.episodeWorst.set(rule.id, worst);
  }
  // Stream episodes likewise: a CGM low under way when the process stopped is still the same episode.
  for (const rule of event.configuration.rules) {
    const list = state.history.get(rule.kind) ?? [];
    const worst = rule.type === 'sustained' ? sustainedEpisodeAfter(rule, list) : rule.type === 'rate' && list.length > 0 ? rateHolds(rule, list, list.length - 1)?.score : undefined;
    if (worst === undefined) continue;
    state.episodes.add(rule.id);
    state.episodeWorst.set(rule.id, worst);
  }
  for (const ruleId of event.openRuleIds) state.episodes.add(ruleId);
  for (const { ruleId, reading } of event.awaitingConfirmation) {
    const rule = event.configuration.rules.find((r) => r.id === ruleId);
    if (rule && (rule.type === 'confirm' || rule.type === 'delta') && rule.retakeWindowMinutes !== undefined) {
      state.pending.set(ruleId, { deadlineMs: reading.measuredAtMs + rule.retakeWindowMinutes * 60_000, reading });
    }
  }
}

/** One step of a patient's rules. Mutates `state`, which belongs to the patient's stream alone. */
export function stepPatient(state: PatientState, event: RulesEvent): AlertSignal[] {
  switch (event.type) {
    case 'reading':
      return onReading(state, event.reading, event.nowMs);
    case 'tick':
      return onTick(state, event.nowMs);
    case 'configure':
      state.configuration = event.configuration;
      for (const ruleId of [...state.pending.keys()]) if (!event.configuration.rules.some((r) => r.id === ruleId && r.enabled)) state.pending.delete(ruleId);
      return [];
    case 'restore':
      onRestore(state, event);
      return [];
  }
}
