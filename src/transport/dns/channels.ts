/**
 * The DNS cache's `node:diagnostics_channel` channels. Each publishes the same payload as the
 * cache's event of the same name; messages are built only when someone subscribed.
 */
import { type Channel, channel } from 'node:diagnostics_channel';

/** `bulwark:dns:refresh`, `bulwark:dns:change`, `bulwark:dns:stale`, `bulwark:dns:failure`. */
export const DNS_CHANNELS: Readonly<Record<'refresh' | 'change' | 'stale' | 'failure', Channel>> =
  Object.freeze({
    refresh: channel('bulwark:dns:refresh'),
    change: channel('bulwark:dns:change'),
    stale: channel('bulwark:dns:stale'),
    failure: channel('bulwark:dns:failure'),
  });
