/**
 * Cascade for OpenFeature: the flag key mapping (`namespace/path`). The providers are in
 * `@cascade/openfeature/web` (`@openfeature/web-sdk`) and `@cascade/openfeature/server`
 * (`@openfeature/server-sdk`), so each app loads only its SDK.
 */
export { changedFlags, flagKeyOf, flagMetadata, hasFlagType, lookupFlag, parseFlagKey } from './flags.js';
export type { FlagAddress, FlagLookup, FlagType } from './flags.js';
