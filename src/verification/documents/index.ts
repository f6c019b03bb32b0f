/** idflow's own document checks: the MRZ and the uploaded images, whatever provider captured them. */
export { checkDocument, CHECK_ORGANIZATION } from './check-document.ts';
export type { CheckOptions, DocumentCheckResult, DocumentInput } from './check-document.ts';
export type { VisualData } from './visual-compare.ts';
export { EXPIRY_HORIZON_YEARS, isExpired } from './mrz-dates.ts';
export { MAX_MRZ_INPUT_CHARS, SPECIMEN_STATE } from './mrz-read.ts';
export { normaliseImage } from './normalise-image.ts';
export type { ImageLimits, ImageRefusal, NormalisedImage, NormaliseOutcome } from './normalise-image.ts';
