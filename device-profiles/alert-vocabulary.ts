// The alert vocabulary every module speaks (rules raise, the store keeps, the API and console show):
// severities from the most to the least urgent, and the statuses of an alert's lifecycle. No
// imports: the console bundles it as it is.
export const ALERT_SEVERITIES = ['critical', 'high', 'moderate', 'low'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** The more severe of two severities. */
export function moreSevere(a: AlertSeverity, b: AlertSeverity): AlertSeverity {
  return ALERT_SEVERITIES.indexOf(a) <= ALERT_SEVERITIES.indexOf(b) ? a : b;
}
export const ALERT_STATUSES = ['awaiting_confirmation', 'open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * What happened to an alert, as every channel names it (the SSE `event`, the MQTT payload's
 * `lastEvent.name`, the webhook's `event`): one name per stored alert event, whichever channel
 * and whether live or replayed.
 */
export const ALERT_EVENT_NAMES = ['opened', 'awaiting_confirmation', 'confirmed', 'updated', 'downgraded', 'escalated', 'claimed', 'snoozed', 'snooze_ended', 'acknowledged', 'resolved', 'note'] as const;
export type AlertEventName = (typeof ALERT_EVENT_NAMES)[number];

/** The channel name of a stored alert event (its type and the status it left the alert in). */
export function alertEventName(type: string, toStatus: string): AlertEventName {
  switch (type) {
    case 'opened':
      return toStatus === 'awaiting_confirmation' ? 'awaiting_confirmation' : 'opened';
    case 'reading':
      return 'updated';
    // Transitions named for their cause: data resumed ends a missing-data alert.
    case 'condition_cleared':
      return 'resolved';
    default:
      return (ALERT_EVENT_NAMES as readonly string[]).includes(type) ? (type as AlertEventName) : toStatus === 'resolved' ? 'resolved' : 'updated';
  }
}
