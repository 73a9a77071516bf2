// The alert vocabulary every module speaks (rules raise, the store keeps, the API and console show):
// severities from the most to the least urgent, and the statuses of an alert's lifecycle. No
// imports: the console bundles it as it is.
export const ALERT_SEVERITIES = ['critical', 'high', 'moderate', 'low'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const ALERT_STATUSES = ['awaiting_confirmation', 'open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
