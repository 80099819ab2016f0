/** The namespace chaosctl acts in when neither a flag, the pod nor the context names one. */
export const DEFAULT_NAMESPACE = 'chaos-platform';
