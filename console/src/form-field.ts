// A form's fields with their label, hint and error: the error shown under the field the API named
// (field-errors.ts) and tied to its control, so a screen reader says why the field was refused.
import { html } from './html.js';

export interface FormFields {
  /** The field's label, control, hint (if any) and error. */
  field(id: string, label: string, control: unknown, hint?: string): unknown;
  /** The attributes the control spreads (`...${aria(id)}`): invalid while refused, described by its hint and error. */
  aria(id: string, hint?: boolean): { 'aria-invalid': 'true' | 'false'; 'aria-describedby': string | undefined };
}

/** The fields of a form whose refusals are `errors`, by control id. */
export function formFields(errors: Readonly<Record<string, string>>): FormFields {
  return {
    field: (id, label, control, hint) => html`
      <div class="field">
        <label for=${id}>${label}</label>
        ${control}
        ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
        ${errors[id] ? html`<p class="error field-error" id=${`${id}-error`}>${errors[id]}</p>` : null}
      </div>`,
    aria: (id, hint = false) => ({
      'aria-invalid': errors[id] ? 'true' : 'false',
      'aria-describedby': [hint ? `${id}-hint` : '', errors[id] ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined,
    }),
  };
}
