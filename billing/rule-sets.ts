// Medicare RPM billing rules as versioned data: one rule set per effective year, so 2027 is a data
// change. Source: ../shared/reference/clinical-billing.md §7 (CY 2026 PFS final rule, CMS-1832-F).

export interface BillingRuleSet {
  /** Stated in every export. */
  version: string;
  effectiveFrom: string;
  /** Device supply codes per 30-day period (§7.2): the first band the day count reaches applies. */
  deviceDays: {
    periodDays: number;
    /** Ordered from the most days down; at most one applies per period (mutually exclusive). */
    bands: { code: string; minDays: number; maxDays: number }[];
  };
  setup: {
    code: string;
    /** 99453 once per episode, in the first period reaching this many days. */
    minDays: number;
    note: string;
  };
  management: {
    /** Calendar-month codes; they need at least one interactive communication in the month. */
    requiresInteractive: boolean;
    /** 10–19 minutes. */
    short: { code: string; minMinutes: number; maxMinutes: number };
    /** ≥ 20 minutes. */
    first: { code: string; minMinutes: number };
    /** Each full additional block after `first`, up to `maxUnits` a month. */
    addOn: { code: string; blockMinutes: number; maxUnits: number };
    /** Minutes one time entry can count for: one sitting (the clinical store refuses longer ones). */
    maxMinutesPerEntry: number;
  };
}

export const RULE_SET_2026: BillingRuleSet = {
  version: 'medicare-rpm-2026.1',
  effectiveFrom: '2026-01-01',
  deviceDays: {
    periodDays: 30,
    bands: [
      { code: '99454', minDays: 16, maxDays: 30 },
      // New in 2026: 2–15 days of data in a 30-day period (§7.2, [R1][R10]).
      { code: '99445', minDays: 2, maxDays: 15 },
    ],
  },
  setup: {
    code: '99453',
    minDays: 16,
    // §10 open item 1: a vendor says 2 days in 2026, unconfirmed in the FR text; the rule that is
    // certain (16) is used until confirmed, so no claim is made that could be denied.
    note: '16 days of data in the first qualifying period (a 2-day minimum for 2026 is unconfirmed, clinical-billing.md §10 item 1)',
  },
  management: {
    requiresInteractive: true,
    // New in 2026: first 10 minutes with an interactive communication; never with 99457 (§7.2).
    short: { code: '99470', minMinutes: 10, maxMinutes: 19 },
    first: { code: '99457', minMinutes: 20 },
    // Add-on to 99457 only (§10 open item 2: not after 99470).
    // At most 2 units a month: CMS's practitioner Medically Unlikely Edit for 99458 (2 units; not in
    // clinical-billing.md, check the current quarter's MUE table). 60 minutes of management a
    // month is what programs bill at most; units past the MUE are denied without documentation.
    addOn: { code: '99458', blockMinutes: 20, maxUnits: 2 },
    maxMinutesPerEntry: 120,
  },
};

const RULE_SETS: readonly BillingRuleSet[] = [RULE_SET_2026];

/** The rule set in force for a month (`YYYY-MM`). */
export function ruleSetFor(month: string): BillingRuleSet | undefined {
  const firstDay = `${month}-01`;
  return [...RULE_SETS].filter((set) => set.effectiveFrom <= firstDay).sort((a, b) => b.effectiveFrom.localeCompare(a.effectiveFrom))[0];
}
