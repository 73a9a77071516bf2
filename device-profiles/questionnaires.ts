// Patient-reported check-ins (issue #26): questionnaires as data, in a small shape modelled on FHIR
// Questionnaire (`linkId`, `text`, `answerOption`), validated with zod when this module loads so a
// broken questionnaire stops start-up. Every choice carries a `score`: 0 is "as usual", higher is
// worse. The rules engine sees a response as a reading of the kind `check_in` whose values are the
// scores by linkId and whose flags are the chosen codes, so a rule can say `breathlessness >= 1`
// or `{ flag: "dizziness", equals: "fainted" }`. Free-text answers go to the care team, never to
// the rules, a log or a notification.
import { z } from 'zod';

const code = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be lower-case letters, digits and underscores');

export const answerOptionSchema = z
  .object({
    code,
    /** What the patient reads and taps: plain words, no jargon. */
    display: z.string().min(1).max(200),
    /** 0 = as usual; higher = worse. What rules compare. */
    score: z.number().int().min(0).max(10),
  })
  .strict();

const itemBase = {
  linkId: code,
  text: z.string().min(1).max(500),
  required: z.boolean().default(true),
};

export const questionnaireItemSchema = z.discriminatedUnion('type', [
  z
    .object({ ...itemBase, type: z.literal('choice'), answerOption: z.array(answerOptionSchema).min(2).max(10) })
    .strict()
    .superRefine((item, context) => {
      const codes = new Set<string>();
      item.answerOption.forEach((option, index) => {
        if (codes.has(option.code)) context.addIssue({ code: 'custom', path: ['answerOption', index, 'code'], message: `duplicate answer ${option.code}` });
        codes.add(option.code);
      });
    }),
  z.object({ ...itemBase, type: z.literal('text'), maxLength: z.number().int().min(1).max(1000).default(500) }).strict(),
]);

export const questionnaireSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'must be lower-case letters, digits and dashes'),
    version: z.string().min(1).max(20),
    title: z.string().min(1).max(200),
    description: z.string().max(1000),
    item: z.array(questionnaireItemSchema).min(1).max(30),
  })
  .strict()
  .superRefine((questionnaire, context) => {
    const links = new Set<string>();
    questionnaire.item.forEach((item, index) => {
      if (links.has(item.linkId)) context.addIssue({ code: 'custom', path: ['item', index, 'linkId'], message: `duplicate linkId ${item.linkId}` });
      links.add(item.linkId);
    });
  });

export type AnswerOption = z.infer<typeof answerOptionSchema>;
export type QuestionnaireItem = z.infer<typeof questionnaireItemSchema>;
export type Questionnaire = z.infer<typeof questionnaireSchema>;

/**
 * Shipped questionnaires. The heart-failure check asks the four symptoms that, next to a weight
 * gain, tell congestion from noise (clinical-billing.md §3.1: BEAT-HF's urgent alert is a gain
 * "with symptoms"; the T3 tier, "weight gain plus symptoms"); each compares with yesterday, as
 * daily HF diaries do, so the answer is a change a nurse can act on.
 */
const SHIPPED: unknown[] = [
  {
    id: 'heart-failure-daily',
    version: '1',
    title: 'Daily heart-failure check',
    description: 'Four questions about how you feel today. It takes less than a minute.',
    item: [
      {
        linkId: 'breathlessness',
        type: 'choice',
        text: 'How is your breathing today, compared with yesterday?',
        answerOption: [
          { code: 'better', display: 'Better', score: 0 },
          { code: 'same', display: 'About the same', score: 0 },
          { code: 'worse', display: 'Worse: I get out of breath more easily', score: 1 },
          { code: 'much_worse', display: 'Much worse: I am short of breath sitting still', score: 2 },
        ],
      },
      {
        linkId: 'swelling',
        type: 'choice',
        text: 'Are your feet, ankles, legs or belly more swollen than yesterday?',
        answerOption: [
          { code: 'no', display: 'No', score: 0 },
          { code: 'a_little', display: 'A little more', score: 1 },
          { code: 'a_lot', display: 'A lot more', score: 2 },
        ],
      },
      {
        linkId: 'orthopnea',
        type: 'choice',
        text: 'Last night, did you need more pillows than usual, or wake up short of breath?',
        answerOption: [
          { code: 'no', display: 'No', score: 0 },
          { code: 'yes', display: 'Yes', score: 1 },
        ],
      },
      {
        linkId: 'dizziness',
        type: 'choice',
        text: 'Today, have you felt dizzy or light-headed, or fainted?',
        answerOption: [
          { code: 'no', display: 'No', score: 0 },
          { code: 'dizzy', display: 'Dizzy or light-headed', score: 1 },
          { code: 'fainted', display: 'I fainted or nearly fainted', score: 2 },
        ],
      },
    ],
  },
  {
    id: 'general-wellbeing',
    version: '1',
    title: 'How are you today?',
    description: 'A short check on how you are doing, for your care team.',
    item: [
      {
        linkId: 'wellbeing',
        type: 'choice',
        text: 'Overall, how do you feel today?',
        answerOption: [
          { code: 'good', display: 'Good', score: 0 },
          { code: 'ok', display: 'OK', score: 0 },
          { code: 'poor', display: 'Not so good', score: 1 },
          { code: 'very_poor', display: 'Bad', score: 2 },
        ],
      },
      {
        linkId: 'medicines',
        type: 'choice',
        text: 'Did you take your medicines as prescribed yesterday?',
        answerOption: [
          { code: 'all', display: 'Yes, all of them', score: 0 },
          { code: 'some', display: 'I missed some', score: 1 },
          { code: 'none', display: 'I did not take them', score: 2 },
        ],
      },
      {
        linkId: 'wants_call',
        type: 'choice',
        text: 'Would you like someone from your care team to call you?',
        answerOption: [
          { code: 'no', display: 'No', score: 0 },
          { code: 'yes', display: 'Yes, please call me', score: 1 },
        ],
      },
      { linkId: 'note', type: 'text', required: false, text: 'Anything else you want your care team to know? (optional)', maxLength: 500 },
    ],
  },
];

/** Validates questionnaires; throws naming the questionnaire and the field. */
export function parseQuestionnaires(input: readonly unknown[]): Questionnaire[] {
  return input.map((candidate, index) => {
    const result = questionnaireSchema.safeParse(candidate);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const id = typeof candidate === 'object' && candidate && 'id' in candidate ? String(candidate.id) : `#${index}`;
      throw new Error(`questionnaire ${id}: ${issue.path.join('/') || '(root)'}: ${issue.message}`);
    }
    return result.data;
  });
}

export const QUESTIONNAIRES: readonly Questionnaire[] = parseQuestionnaires(SHIPPED);

export function questionnaireById(id: string): Questionnaire | undefined {
  return QUESTIONNAIRES.find((questionnaire) => questionnaire.id === id);
}

/** What a rule sees of an answered check-in: the scores and the chosen codes by linkId. */
export interface ScoredAnswers {
  values: Record<string, number>;
  flags: Record<string, string>;
}

/** An answer that does not fit its questionnaire: names the question (`answers/<linkId>`). */
export class AnswerRefused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AnswerRefused';
  }
}

/**
 * Checks answers (`{ linkId: code or text }`) against the questionnaire and scores them. Every
 * required question must be answered, every choice from its answer set, no unknown question.
 */
export function scoreAnswers(questionnaire: Questionnaire, answers: Readonly<Record<string, unknown>>): ScoredAnswers {
  const scored: ScoredAnswers = { values: {}, flags: {} };
  for (const linkId of Object.keys(answers)) {
    if (!questionnaire.item.some((item) => item.linkId === linkId)) throw new AnswerRefused(`answers/${linkId}`, `is not a question of ${questionnaire.id}`);
  }
  for (const item of questionnaire.item) {
    const answer = answers[item.linkId];
    const field = `answers/${item.linkId}`;
    if (answer === undefined || answer === null || answer === '') {
      if (item.required) throw new AnswerRefused(field, 'is required');
      continue;
    }
    if (typeof answer !== 'string') throw new AnswerRefused(field, 'must be a string');
    if (item.type === 'text') {
      if (answer.length > item.maxLength) throw new AnswerRefused(field, `is ${answer.length} characters; at most ${item.maxLength}`);
      continue;
    }
    const option = item.answerOption.find((candidate) => candidate.code === answer);
    if (!option) throw new AnswerRefused(field, `"${answer.slice(0, 40)}" is not one of ${item.answerOption.map((candidate) => candidate.code).join(', ')}`);
    scored.values[item.linkId] = option.score;
    scored.flags[item.linkId] = option.code;
  }
  return scored;
}

/** The plain words of an answer (`worse` → "Worse: I get out of breath more easily"). */
export function answerDisplay(questionnaire: Questionnaire, linkId: string, answer: string): string {
  const item = questionnaire.item.find((candidate) => candidate.linkId === linkId);
  if (!item || item.type !== 'choice') return answer;
  return item.answerOption.find((option) => option.code === answer)?.display ?? answer;
}
