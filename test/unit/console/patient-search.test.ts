// The Patients page: finding a patient as a nurse types, and the body of an enrollment (the first
// day of monitoring counted from midnight in the patient's own time zone).
import { describe, expect, it } from '@jest/globals';
import { byName, folded, matchesQuery, searchText } from '../../../console/src/patient-search.js';
import { enrollmentBody, type Draft } from '../../../console/src/enrollment-body.js';

const jose = { id: 'mrn-1001', name: 'José Álvarez-Núñez', birthDate: '1948-03-02' };

describe('patient search', () => {
  it('finds by any part of the name, without minding case or accents, every word having to match', () => {
    const text = searchText(jose);
    expect(matchesQuery(text, 'jose')).toBe(true);
    expect(matchesQuery(text, 'NUÑEZ')).toBe(true);
    expect(matchesQuery(text, '  alv   jos ')).toBe(true);
    expect(matchesQuery(text, 'jose smith')).toBe(false);
    expect(matchesQuery(text, 'maria')).toBe(false);
  });

  it('finds by id and by date of birth, and an empty query matches everyone', () => {
    const text = searchText(jose);
    expect(matchesQuery(text, 'MRN-1001')).toBe(true);
    expect(matchesQuery(text, '1948-03-02')).toBe(true);
    expect(matchesQuery(text, '1948-03-03')).toBe(false);
    expect(matchesQuery(text, '')).toBe(true);
    expect(matchesQuery(text, '   ')).toBe(true);
  });

  it('finds by the record number the hospital’s EHR knows the patient by', () => {
    const text = searchText({ ...jose, identifiers: [{ system: 'http://hospital.example.org/mrn', value: 'H-000123' }] });
    expect(matchesQuery(text, 'h-000123')).toBe(true);
    expect(matchesQuery(text, '000123 jose')).toBe(true);
    expect(matchesQuery(searchText(jose), '000123')).toBe(false);
  });

  it('folds accents and case', () => {
    expect(folded('Ångström ÇA')).toBe('angstrom ca');
  });

  it('orders by name whatever the case, then by id (two patients may share a name)', () => {
    const list = [
      { id: 'b', name: 'ada Alpha' },
      { id: 'a', name: 'Ada Alpha' },
      { id: 'c', name: 'Zoe' },
      { id: 'd', name: 'Ben' },
    ];
    expect([...list].sort(byName).map((p) => p.id)).toEqual(['a', 'b', 'd', 'c']);
  });
});

describe('enrollment body', () => {
  const draft: Draft = { id: '  mrn-7 ', name: ' Ada Example ', birthDate: '1948-03-02', timezone: 'America/New_York', careTeamId: 'cardiology', from: '2026-11-01', language: ' es ' };
  // 2026-12-06 15:00 UTC: 10:00 in New York.
  const now = Date.parse('2026-12-06T15:00:00Z');

  it('sends an earlier first day as midnight in the patient’s zone, across its DST change', () => {
    // 1 November 2026 began at 00:00 EDT, 04:00 UTC (the clocks went back at 02:00 that day).
    expect(enrollmentBody(draft, now)).toEqual({ id: 'mrn-7', name: 'Ada Example', birthDate: '1948-03-02', timezone: 'America/New_York', careTeamId: 'cardiology', language: 'es', enrolledAt: '2026-11-01T04:00:00.000Z' });
    expect(enrollmentBody({ ...draft, from: '2026-12-01' }, now).enrolledAt).toBe('2026-12-01T05:00:00.000Z');
  });

  it('leaves today’s to the server (it enrols from now), today as the patient’s clock reads it', () => {
    expect(enrollmentBody({ ...draft, from: '2026-12-06' }, now).enrolledAt).toBeUndefined();
    // At 03:00 UTC on 7 December it is still 6 December in New York, and already the 7th in Tokyo.
    const late = Date.parse('2026-12-07T03:00:00Z');
    expect(enrollmentBody({ ...draft, from: '2026-12-06' }, late).enrolledAt).toBeUndefined();
    expect(enrollmentBody({ ...draft, from: '2026-12-06', timezone: 'Asia/Tokyo' }, late).enrolledAt).toBe('2026-12-05T15:00:00.000Z');
  });

  it('leaves out an empty id and language, and the first day of a zone the browser does not know (the server names that field)', () => {
    const body = enrollmentBody({ ...draft, id: ' ', language: '', timezone: 'Mars/Olympus_Mons' }, now);
    expect(body).toEqual({ name: 'Ada Example', birthDate: '1948-03-02', timezone: 'Mars/Olympus_Mons', careTeamId: 'cardiology' });
  });
});
