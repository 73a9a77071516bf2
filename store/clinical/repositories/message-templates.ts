// The automated-message templates a care team edited (issue #26, item 4); the shipped ones are in
// device-profiles/message-templates.ts. Which text a patient gets: the team's template in the
// patient's language, else the shipped one in it, else the team's English, else the shipped English.
import type { Kysely } from 'kysely';
import { DEFAULT_LANGUAGE, MAX_TEMPLATE_CHARACTERS, shippedTemplate, unknownVariables, type MessageTemplateKey } from '../../../device-profiles/index.js';
import { invalidInput, notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase } from '../schema.js';
import { checkLanguage } from './patients.js';

export interface MessageTemplate {
  key: MessageTemplateKey;
  language: string;
  text: string;
  /** Whether the care team wrote it (false: shipped with the platform). */
  edited: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

export class MessageTemplateRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** The team's edited templates. */
  async ofTeam(careTeamId: string): Promise<MessageTemplate[]> {
    const rows = await this.db.selectFrom('message_templates').selectAll().where('care_team_id', '=', careTeamId).orderBy('key').orderBy('language').execute();
    return rows.map((row) => ({ key: row.key as MessageTemplateKey, language: row.language, text: row.text, edited: true, updatedAt: row.updated_at, updatedBy: row.updated_by }));
  }

  async set(careTeamId: string, key: MessageTemplateKey, language: string, text: string, by: string): Promise<MessageTemplate> {
    const tag = checkLanguage(language);
    const trimmed = text.trim();
    if (trimmed.length === 0) throw invalidInput('text', 'is empty');
    if (trimmed.length > MAX_TEMPLATE_CHARACTERS) throw invalidInput('text', `is ${trimmed.length} characters; a template holds at most ${MAX_TEMPLATE_CHARACTERS}`);
    const unknown = unknownVariables(key, trimmed);
    if (unknown.length > 0) throw invalidInput('text', `uses {{${unknown[0]}}}, which the ${key} template does not offer`);
    const team = await this.db.selectFrom('care_teams').select('id').where('id', '=', careTeamId).executeTakeFirst();
    if (!team) throw notFound('care team', careTeamId);
    const at = nowInstant();
    await this.db
      .insertInto('message_templates')
      .values({ care_team_id: careTeamId, key, language: tag, text: trimmed, updated_at: at, updated_by: by })
      .onConflict((oc) => oc.columns(['care_team_id', 'key', 'language']).doUpdateSet({ text: trimmed, updated_at: at, updated_by: by }))
      .execute();
    return { key, language: tag, text: trimmed, edited: true, updatedAt: at, updatedBy: by };
  }

  /** Back to the shipped template; true when there was an edited one. */
  async reset(careTeamId: string, key: MessageTemplateKey, language: string): Promise<boolean> {
    const result = await this.db.deleteFrom('message_templates').where('care_team_id', '=', careTeamId).where('key', '=', key).where('language', '=', checkLanguage(language)).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The text a patient of the team gets, in their language when there is one. */
  async resolve(careTeamId: string, key: MessageTemplateKey, language: string | null): Promise<{ language: string; text: string }> {
    const wanted = [...new Set([...(language ? [language, language.split('-')[0]!] : []), DEFAULT_LANGUAGE])];
    const rows = await this.db.selectFrom('message_templates').select(['language', 'text']).where('care_team_id', '=', careTeamId).where('key', '=', key).where('language', 'in', wanted).execute();
    const edited = new Map(rows.map((row) => [row.language, row.text]));
    for (const candidate of wanted) {
      const text = edited.get(candidate);
      if (text) return { language: candidate, text };
      const shipped = shippedTemplate(key, candidate);
      if (shipped.language === candidate) return shipped;
    }
    return shippedTemplate(key, null);
  }
}
