import type { JourneyInput } from '../contracts/tasks.ts';
import { type CustomerProfile, profileAsOf } from '../customer.ts';
import { CouponCodeTakenError, NotFoundError } from '../errors.ts';
import { matchesEventPattern } from '../event-pattern.ts';
import {
  addDuration,
  bucketOf,
  COUPON_ATTEMPTS,
  couponCode,
  type EventListen,
  type Journey,
  mayEnter,
  resumeInput,
  type Wait,
} from '../journeys.ts';
import { nextLocalTime } from '../local-time.ts';
import type { Clock, CustomerStore, JourneyStarter, JourneyStore, Signer } from '../ports.ts';
import { withOptimisticRetry } from './retry.ts';

// The journey steps a flow's state machine calls. Each is idempotent: keyed by journey and step,
// guarded by conditional writes, so a retried or duplicated execution changes nothing twice.

export interface JourneyDeps {
  store: CustomerStore & JourneyStore;
  clock: Clock;
  starter: JourneyStarter;
  /** For customers without a time zone. */
  defaultTimeZone: string;
}

/** The journey a step acts on. */
export type JourneyRef = Omit<JourneyInput<'resume'>, 'action'>;

/** What the state machine keeps in `$.journey` for conditions and splits. */
export interface JourneyState {
  entered: boolean;
  reason?: string | undefined;
  customerId: string;
  journeyId: string;
  profile: Record<string, unknown>;
  buckets: Record<string, number>;
}

const asState = (profile: CustomerProfile): Record<string, unknown> => ({ ...profile });

export const loadProfile = async (customerId: string, deps: Pick<JourneyDeps, 'store' | 'clock'>) => {
  const profile = await deps.store.getProfile(customerId);
  if (!profile) throw new NotFoundError(`customer ${customerId} has no record yet`);
  return asState(profileAsOf(profile, deps.clock.now()));
};

export type EnterInput = Omit<JourneyInput<'enter'>, 'action'>;

/** Starts a journey once per trigger event, if re-entry rules and the flow's cap allow it. */
export const enterJourney = async (input: EnterInput, deps: JourneyDeps): Promise<JourneyState> => {
  const { store, clock } = deps;
  const base = { customerId: input.customerId, journeyId: input.journeyId, profile: input.profile };
  const existing = await store.getJourney(input.customerId, input.flowId, input.journeyId);
  if (existing) {
    // A repeated trigger: go on with the journey it started, if it is still running.
    return {
      ...base,
      entered: existing.status === 'active',
      reason: 'duplicate trigger',
      buckets: existing.buckets,
    };
  }
  const now = clock.now();
  let decision: JourneyState = { ...base, entered: false, buckets: {} };
  await withOptimisticRetry(clock, async () => {
    const memory = await store.getFlowMemory(input.customerId, input.flowId);
    const verdict = mayEnter(memory, input.reentry, now);
    if (!verdict.enter) {
      decision = { ...base, entered: false, reason: verdict.reason, buckets: {} };
      return { outcome: 'applied' as const };
    }
    const journey: Journey = {
      customerId: input.customerId,
      flowId: input.flowId,
      journeyId: input.journeyId,
      revision: input.revision,
      status: 'active',
      enteredAt: now.toISOString(),
      triggerEventId: input.journeyId,
      exitOn: input.exitOn,
      goal: input.goal
        ? {
            event: input.goal.event,
            where: input.goal.where,
            deadline: addDuration(now, { minutes: input.goal.withinMinutes }).toISOString(),
          }
        : undefined,
      buckets: Object.fromEntries(input.splits.map((stepId) => [stepId, bucketOf(input.journeyId, stepId)])),
      capped: input.cap !== undefined,
    };
    const outcome = await store.enterJourney(journey, memory, {
      cap: input.cap,
      exclusive: input.reentry !== 'always',
    });
    if (outcome === 'full') {
      decision = { ...base, entered: false, reason: `the flow is full (${input.cap} at once)`, buckets: {} };
      return { outcome: 'applied' as const };
    }
    if (outcome === 'duplicate') {
      const again = await store.getJourney(input.customerId, input.flowId, input.journeyId);
      decision = {
        ...base,
        entered: again?.status === 'active',
        reason: 'duplicate trigger',
        buckets: again?.buckets ?? {},
      };
      return { outcome: 'applied' as const };
    }
    decision = { ...base, entered: outcome === 'applied', buckets: journey.buckets };
    return { outcome };
  });
  return decision;
};

/** A continuation: goes on only if the journey is still active; conditions see a fresh profile. */
export const resumeJourney = async (input: JourneyRef, deps: JourneyDeps): Promise<JourneyState> => {
  const journey = await deps.store.getJourney(input.customerId, input.flowId, input.journeyId);
  const profile = await loadProfile(input.customerId, deps);
  return {
    customerId: input.customerId,
    journeyId: input.journeyId,
    profile,
    entered: journey?.status === 'active',
    reason: journey ? `journey is ${journey.status}` : 'no such journey',
    buckets: journey?.buckets ?? {},
  };
};

export type WaitInput = Omit<JourneyInput<'wait'>, 'action'>;

/** Parks the journey: a wait item whose due time the sweeper finds, and which an event may claim first. */
export const parkJourney = async (input: WaitInput, deps: JourneyDeps) => {
  const { store, clock } = deps;
  const journey = await store.getJourney(input.customerId, input.flowId, input.journeyId);
  if (journey?.status !== 'active') return { waiting: false };
  const now = clock.now();
  let dueAt: Date;
  // A deferral's wait is named by its due time too: the previous deferral of the same step may
  // still be there (it is deleted only after its continuation started), and one wait per journey
  // and step name is written.
  let stepId = input.stepId;
  if ('minutes' in input.due) {
    dueAt = addDuration(now, { minutes: input.due.minutes });
  } else if ('at' in input.due) {
    dueAt = new Date(input.due.at);
    stepId = `${input.stepId}@${dueAt.toISOString()}`;
  } else {
    const profile = await store.getProfile(input.customerId);
    dueAt = nextLocalTime(
      now,
      profile?.timeZone ?? deps.defaultTimeZone,
      input.due.until.time,
      input.due.until.weekdays,
    );
  }
  const wait: Wait = {
    customerId: input.customerId,
    flowId: input.flowId,
    journeyId: input.journeyId,
    revision: input.revision,
    stepId,
    dueAt: dueAt.toISOString(),
    listen: input.listen,
    targets: input.targets,
    context: input.context,
    status: 'waiting',
  };
  await store.putWait(wait);
  return { waiting: true, dueAt: wait.dueAt };
};

export const endJourney = async (input: Omit<JourneyInput<'end'>, 'action'>, deps: JourneyDeps) => {
  const journey = await deps.store.getJourney(input.customerId, input.flowId, input.journeyId);
  if (!journey) return { ended: false };
  return { ended: await deps.store.endJourney(journey, input.status, deps.clock.now().toISOString()) };
};

/** A coupon per journey step, signed from (customer, flow, journey, step): the same on every retry. */
export const issueCoupon = async (
  input: Omit<JourneyInput<'issue_coupon'>, 'action'>,
  deps: JourneyDeps & { signer: Signer },
) => {
  const now = deps.clock.now();
  const subject = [input.customerId, input.flowId, input.journeyId, input.stepId];
  for (let attempt = 0; ; attempt++) {
    try {
      const coupon = await deps.store.issueCoupon({
        customerId: input.customerId,
        code: await couponCode(deps.signer, input.prefix, subject, attempt),
        flowId: input.flowId,
        journeyId: input.journeyId,
        stepId: input.stepId,
        discount: input.discount,
        issuedAt: now.toISOString(),
        expiresAt: addDuration(now, { minutes: input.validMinutes }).toISOString(),
      });
      return { code: coupon.code, expiresAt: coupon.expiresAt, discount: coupon.discount };
    } catch (error) {
      if (!(error instanceof CouponCodeTakenError) || attempt + 1 >= COUPON_ATTEMPTS) throw error;
    }
  }
};

export const updateProfile = async (
  input: Omit<JourneyInput<'update_profile'>, 'action'>,
  deps: JourneyDeps,
) => {
  await deps.store.updateAttributes(
    input.customerId,
    { set: input.set, addTags: input.addTags, removeTags: input.removeTags },
    deps.clock.now().toISOString(),
  );
  return { updated: true };
};

export interface ArrivedEvent {
  eventId: string;
  type: string;
  customerId: string;
  detail: Record<string, unknown>;
}

const matches = (listen: EventListen, event: ArrivedEvent) =>
  matchesEventPattern(
    { 'detail-type': [listen.event], ...(listen.where ? { detail: listen.where } : {}) },
    { 'detail-type': event.type, detail: event.detail },
  );

/**
 * What an event means for the customer's journeys: it ends journeys whose exit conditions it meets,
 * records goals, and resumes journeys waiting for it. A wait is claimed by one conditional write,
 * so an event and the sweeper's timeout never both resume it.
 */
export const resolveJourneys = async (event: ArrivedEvent, deps: JourneyDeps) => {
  const { store, clock, starter } = deps;
  const now = clock.now().toISOString();
  const { journeys, waits } = await store.listActive(event.customerId, now);
  const result = { exited: 0, converted: 0, resumed: 0 };
  for (const journey of journeys) {
    if (journey.triggerEventId === event.eventId) continue;
    if (
      journey.goal &&
      !journey.convertedAt &&
      now <= journey.goal.deadline &&
      matches(journey.goal, event)
    ) {
      if (await store.recordConversion(journey, now)) result.converted++;
    }
    if (journey.status === 'active' && journey.exitOn.some((listen) => matches(listen, event))) {
      if (await store.endJourney(journey, 'exited', now)) result.exited++;
      const wait = waits.find((w) => w.flowId === journey.flowId && w.journeyId === journey.journeyId);
      if (wait && (await store.claimWait(wait, 'event', now))) await store.deleteWait(wait);
    }
  }
  for (const wait of waits) {
    if (wait.status !== 'waiting' || !wait.listen || !matches(wait.listen, event)) continue;
    const journey = journeys.find((j) => j.flowId === wait.flowId && j.journeyId === wait.journeyId);
    if (journey?.status !== 'active') continue;
    if (!(await store.claimWait(wait, 'event', now))) continue;
    await starter.start(wait.flowId, wait.revision, resumeInput(wait, 'event', event.detail));
    await store.deleteWait(wait);
    result.resumed++;
  }
  return result;
};
