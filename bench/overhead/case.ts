/** What a contender of the overhead bench is (cases.ts lists them; otel.ts makes the OpenTelemetry ones). */

/** The HTTP/2 upstream (server-h2.ts) the h2 cases talk to: its URL and the CA to trust. */
export interface H2Upstream {
  readonly url: string;
  readonly ca: string;
}

/**
 * One contender: `setup` makes its client for `url` (an h2 case: for `h2.url`); `one()` makes one
 * request and reads the body.
 */
export interface Case {
  readonly id: string;
  readonly label: string;
  setup(
    url: string,
    connections: number,
    h2?: H2Upstream,
  ): Promise<{ one: () => Promise<void>; close: () => Promise<void> }>;
}
