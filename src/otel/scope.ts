/** The instrumentation scope Bulwark's spans and metrics are reported under: the package's name and version. */
import { readFileSync } from 'node:fs';

/** The instrumentation scope's name. */
export const SCOPE = 'bulwark';

/** The package's version, read from package.json (src/ and dist/ both sit two levels below it). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
