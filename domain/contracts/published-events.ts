/** Sources of the events Rapport itself publishes. */
export const SWEEPER_SOURCE = 'rapport.sweeper';
export const FLOW_SOURCE = 'rapport.flow';
