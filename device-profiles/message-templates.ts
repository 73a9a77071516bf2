// Automated messages to patients (issue #26, item 4): what the platform writes in a patient's thread
// on its own, as templates a care team can edit per language. English is shipped; another language
// is a care team's template with that language tag (or a shipped table added here), chosen by the
// patient's `language`. A template names its variables in double braces; an unknown one is refused
// when the template is saved, so a typo never reaches a patient as "{{knd}}".
export const MESSAGE_TEMPLATE_KEYS = ['check_in_reminder', 'missing_readings', 'retake_request'] as const;
export type MessageTemplateKey = (typeof MESSAGE_TEMPLATE_KEYS)[number];

/** The variables each template may use, and what they hold. */
export const TEMPLATE_VARIABLES: Readonly<Record<MessageTemplateKey, Readonly<Record<string, string>>>> = {
  check_in_reminder: { questionnaire: 'the check-in’s title', time: 'its scheduled local time, HH:MM' },
  missing_readings: { kind: 'what was not measured (“blood pressure”)', days: 'for how many days' },
  retake_request: { instructions: 'the rule’s retake instructions, as sent to the device' },
};

/** What ships, by language. */
export const SHIPPED_TEMPLATES: Readonly<Record<string, Readonly<Record<MessageTemplateKey, string>>>> = {
  en: {
    check_in_reminder: 'Your check-in “{{questionnaire}}” for {{time}} is still waiting. It takes less than a minute: please answer it in your app or on your page.',
    missing_readings: 'We have not received a {{kind}} reading from you for {{days}} days. Please measure today. If something is wrong with your device, reply here and we will help.',
    retake_request: '{{instructions}}',
  },
};

export const DEFAULT_LANGUAGE = 'en';
export const MAX_TEMPLATE_CHARACTERS = 1_000;

const VARIABLE = /\{\{\s*([a-zA-Z_]+)\s*\}\}/g;

/** The variables a template text uses that its key does not offer (empty when it is fine). */
export function unknownVariables(key: MessageTemplateKey, text: string): string[] {
  const known = TEMPLATE_VARIABLES[key];
  return [...text.matchAll(VARIABLE)].map((match) => match[1]!).filter((name) => !(name in known));
}

/** The text with its variables filled in (an absent value leaves the variable's name out). */
export function renderTemplate(text: string, values: Readonly<Record<string, string | number>>): string {
  return text.replace(VARIABLE, (_, name: string) => String(values[name] ?? '')).trim();
}

/** The shipped template in `language`, its base language (`pt` for `pt-BR`), or English. */
export function shippedTemplate(key: MessageTemplateKey, language: string | null): { language: string; text: string } {
  for (const candidate of language ? [language, language.split('-')[0]!] : []) {
    const text = SHIPPED_TEMPLATES[candidate]?.[key];
    if (text) return { language: candidate, text };
  }
  return { language: DEFAULT_LANGUAGE, text: SHIPPED_TEMPLATES[DEFAULT_LANGUAGE]![key] };
}
