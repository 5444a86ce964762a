/**
 * Bulwark's public API, on one screen. Everything a user imports comes from here or from the
 * driver subpaths (`bulwark/pg`, `bulwark/mysql2`, `bulwark/ioredis`).
 */

export type { Budget, BulwarkErrorInit, RequestInfo, Target, Timings } from './errors/bulwark-error.ts';
export { BULWARK_ERROR_BRAND, BulwarkError, isBulwarkError } from './errors/bulwark-error.ts';
export type { AppClassification, Classification, LayerClassification } from './errors/classify.ts';
export { classify } from './errors/classify.ts';
export type { CodeInfo, ErrorCode, Layer } from './errors/codes.ts';
export { ERROR_CODE_LIST, ERROR_CODES, LAYERS } from './errors/codes.ts';
export { InvalidOptionError } from './errors/invalid-option-error.ts';
