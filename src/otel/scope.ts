/** The instrumentation scope Bulwark's spans and metrics are reported under: the package's name and version. */
import { createRequire } from 'node:module';

/** The instrumentation scope's name. */
export const SCOPE = 'bulwark';

/** The package's version (src/ and dist/ both sit two levels below package.json). */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;
