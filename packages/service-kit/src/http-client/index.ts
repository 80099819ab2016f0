export {
  type BreakerState,
  Downstream,
  type DownstreamOptions,
  type DownstreamRequest,
  type DownstreamResponse,
} from './downstream.js';
export { DownstreamRequestError, DownstreamUnavailableError, type UnavailableReason } from './errors.js';
