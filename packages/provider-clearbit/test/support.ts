import type { ApiCallError, LeadpipeError } from '@leadpipe/core';
import { LeadpipeError as LeadpipeErrorClass } from '@leadpipe/core';
import {
  type ClearbitEmulatorOptions,
  createEmulator,
  createEmulatorClock,
  type EmulatorInstance,
  type FaultOptions,
  type TruthCompany,
  type TruthPerson,
} from '@leadpipe/testkit';

/** A small population, so tests stay fast. */
export const TRUTH = { seed: 7, people: 400, companies: 60 } as const;

/** A Clearbit emulator on a clock that follows `Date.now` (so fake timers drive it). */
export function clearbitEmulator(
  options: ClearbitEmulatorOptions = {},
  faults?: FaultOptions,
): EmulatorInstance<'clearbit'> {
  return createEmulator('clearbit', {
    seed: TRUTH.seed,
    truth: TRUTH,
    clock: createEmulatorClock(1, () => Date.now()),
    faults,
    options: { queuedShare: 0, ...options },
  });
}

/** A person the emulator has a record for, with a title, seniority bucket and company. */
export function knownPerson(emulator: EmulatorInstance<'clearbit'>, skip = 0): TruthPerson {
  const view = emulator.emulator.view;
  const found = emulator.truth.people.filter((person) => {
    const fields = view.person(person);
    return (
      fields !== null &&
      fields.title !== undefined &&
      fields.location !== undefined &&
      view.company(emulator.truth.companyOf(person)) !== null &&
      !/^(info|sales|support|admin|contact|hello|office|team|help|billing|marketing|jobs|careers)@/.test(
        person.email,
      )
    );
  });
  const person = found[skip];
  if (person === undefined) throw new Error('no known person in the test population');
  return person;
}

/** A person the emulator has no person record for, at a company it does not know either. */
export function unknownEmail(emulator: EmulatorInstance<'clearbit'>): string {
  const view = emulator.emulator.view;
  const person = emulator.truth.people.find(
    (item) => view.person(item) === null && view.company(emulator.truth.companyOf(item)) === null,
  );
  return person?.email ?? 'nobody@unknown-company-example.com';
}

/** A company the emulator has a record for. */
export function knownCompany(emulator: EmulatorInstance<'clearbit'>): TruthCompany {
  const view = emulator.emulator.view;
  const company = emulator.truth.companies.find((item) => {
    const fields = view.company(item);
    return fields !== null && fields['company.headcount'] !== undefined;
  });
  if (company === undefined) throw new Error('no known company in the test population');
  return company;
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejectionOf<E extends LeadpipeError = ApiCallError>(
  promise: PromiseLike<unknown>,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (LeadpipeErrorClass.isInstance(error)) return error as E;
    throw error;
  }
  throw new Error('expected a rejection');
}

/**
 * Advance fake timers in steps until `promise` settles (the engine's limiter
 * needs timer ticks to hand results on), then return it.
 */
export async function settle<T>(
  promise: Promise<T>,
  advance: (ms: number) => Promise<unknown>,
  stepMs = 1_000,
  maxSteps = 1_000,
): Promise<T> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let step = 0; step < maxSteps && !done; step++) await advance(stepMs);
  return promise;
}
